"""Reminders that survive restarts: stored rows, delivered through the outbox exactly once.

Delivery marks the reminder (or moves a recurring one to its next time) in the same transaction
that queues the message, so a crash can neither lose nor repeat it. A reminder that fell due while
the bot was down is sent once, late, if it is within the grace period; older ones are skipped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import WEEKDAYS
from bot.kernel.context import BotContext
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from bot.store.models import Reminder, utcnow
from bot.store.queue import lock

log = logging.getLogger(__name__)
_WEEKDAYS = {d: i for i, d in enumerate(WEEKDAYS)}
_IN = re.compile(r"^in\s+(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)$")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


# Limits that keep /reminders within one Telegram message (4096 UTF-16 units, 100 buttons).
MAX_ACTIVE = 25
MAX_TEXT = 200
MAX_AHEAD_DAYS = 3660


class WhenError(ValueError):
    """What could not be read (plain text), with one example of the right form."""

    def __init__(self, problem: str, example: str = "in 2h post the sunrise set") -> None:
        super().__init__(problem)
        self.problem = problem
        self.example = f"/remind {example}"


@dataclass(frozen=True)
class When:
    due_at: datetime
    recurrence: str  # once | daily | weekly


def _at_time(base: datetime, hhmm: str | None, after: str, example: str) -> datetime:
    if hhmm is None:
        raise WhenError(f"no time after “{after}”", example)
    m = _TIME.match(hhmm)
    if not m:
        raise WhenError(f"“{hhmm}” is not a time (use HH:MM)", example)
    return base.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)


def _word(words: list[str], i: int) -> str | None:
    return words[i] if i < len(words) else None


def parse_when(words: list[str], now: datetime, tz: ZoneInfo) -> tuple[When, list[str]]:
    """Parse the start of `/remind` arguments; return the time and the remaining words (the text).

    Accepts: `in 30m`, `in 2h`, `in 3d`, `18:00`, `tomorrow 18:00`, `2026-12-24 18:00`,
    `daily 18:00`, `weekly mon 18:00` (also `every day 18:00`, `every mon 18:00`). A WhenError
    names the part that could not be read.
    """
    local = now.astimezone(tz)
    w = [x.lower() for x in words]
    if not w:
        raise WhenError("say when, then what")
    if w[0] == "in":
        m = (len(w) >= 2 and _IN.match(f"in {w[1]}")) or (len(w) >= 3 and _IN.match(f"in {w[1]} {w[2]}")) or None
        if m is None:
            after = " ".join(words[1:3]) or "in"
            raise WhenError(f"“in {after}” is not a duration" if len(w) >= 2 else "no duration after “in”",
                            "in 30m stretch")
        used = 2 if _IN.match(f"in {w[1]}") else 3
        n, unit = int(m.group(1)), m.group(2)[0]
        minutes = n * {"m": 1, "h": 60, "d": 24 * 60}[unit]
        if minutes > MAX_AHEAD_DAYS * 24 * 60:
            raise WhenError(f"that is too far ahead: at most {MAX_AHEAD_DAYS} days", "in 3d post the recap")
        return When(now + timedelta(minutes=minutes), "once"), words[used:]
    if w[0] == "daily" or (w[0] == "every" and _word(w, 1) == "day"):
        skip = 1 if w[0] == "daily" else 2
        t = _at_time(local, _word(w, skip), " ".join(words[:skip]), "daily 18:00 go live")
        if t <= local:
            t += timedelta(days=1)
        return When(t, "daily"), words[skip + 1:]
    if w[0] in ("weekly", "every"):
        day = _word(w, 1)
        if day is None or day[:3] not in _WEEKDAYS:
            raise WhenError(f"no weekday after “{words[0]}”" if day is None else f"“{words[1]}” is not a weekday",
                            "weekly mon 9:00 plan the week")
        t = _at_time(local, _word(w, 2), " ".join(words[:2]), "weekly mon 9:00 plan the week")
        t += timedelta(days=(_WEEKDAYS[day[:3]] - t.weekday()) % 7)
        if t <= local:
            t += timedelta(days=7)
        return When(t, "weekly"), words[3:]
    if w[0] == "tomorrow":
        return When(_at_time(local + timedelta(days=1), _word(w, 1), words[0], "tomorrow 9:30 post the sunrise set"),
                    "once"), words[2:]
    if re.match(r"^\d{4}-\d{2}-\d{2}$", w[0]):
        example = f"{(local + timedelta(days=7)):%Y-%m-%d} 18:00 send the newsletter"
        try:
            date = datetime.strptime(w[0], "%Y-%m-%d").replace(tzinfo=tz)
        except ValueError as exc:
            raise WhenError(f"“{words[0]}” is not a date (use YYYY-MM-DD)", example) from exc
        t = _at_time(date, _word(w, 1), words[0], example)
        if t <= local:
            raise WhenError("that time is in the past", example)
        if t - local > timedelta(days=MAX_AHEAD_DAYS):
            raise WhenError(f"that is too far ahead: at most {MAX_AHEAD_DAYS} days", example)
        return When(t, "once"), words[2:]
    if _TIME.match(w[0]):
        t = _at_time(local, w[0], "", "18:00 go live")
        if t <= local:
            t += timedelta(days=1)
        return When(t, "once"), words[1:]
    if w[0] in ("yesterday", "today", "now") or re.match(r"^\d", w[0]):
        if w[0] == "yesterday":
            raise WhenError("that time is in the past", "tomorrow 9:00 post the sunrise set")
        raise WhenError(f"I can't read “{words[0]}” as a time", "18:00 go live")
    raise WhenError(f"“{words[0]}” is not a time I understand", "in 2h post the sunrise set")


def create(session: Session, chat_id: int, when: When, text: str, kind: str = "manual") -> Reminder:
    row = Reminder(chat_id=chat_id, text=text, due_at=when.due_at, recurrence=when.recurrence, kind=kind)
    session.add(row)
    session.flush()
    return row


CREATORS_KINDS = ("manual", "auto")  # reminders the creator set (others are the bot's own work: reports, exports)


def active_count(session: Session, chat_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.chat_id == chat_id, Reminder.status == "active", Reminder.kind.in_(CREATORS_KINDS))) or 0)


def active(session: Session, chat_id: int) -> list[Reminder]:
    """The creator's reminders (the report schedule is a setting, not listed here)."""
    return list(session.scalars(select(Reminder).where(Reminder.chat_id == chat_id, Reminder.status == "active",
                                                       Reminder.kind.in_(CREATORS_KINDS))
                                .order_by(Reminder.due_at)))


def cancel(session: Session, chat_id: int, reminder_id: int) -> bool:
    row = session.get(Reminder, reminder_id)
    if row is None or row.chat_id != chat_id or row.status != "active" or row.kind not in CREATORS_KINDS:
        return False
    row.status = "cancelled"
    return True


def next_occurrence(due: datetime, recurrence: str, tz: ZoneInfo) -> datetime:
    """The same wall-clock time one day or one week later in `tz` (18:00 stays 18:00 across DST)."""
    local = due.astimezone(tz).replace(tzinfo=None)
    step = timedelta(days=1) if recurrence == "daily" else timedelta(days=7)
    return (local + step).replace(tzinfo=tz)


def run_now(session: Session, chat_id: int, kind: str) -> Reminder:
    """Work of `kind` done once, soon, by the reminder job, in a transaction of its own (the row is
    its idempotency key): heavy work that must not run inside an update's transaction."""
    return create(session, chat_id, When(utcnow(), "once"), "", kind=kind)


def due_ids(session: Session, now: datetime) -> list[int]:
    return list(session.scalars(select(Reminder.id).where(Reminder.status == "active", Reminder.due_at <= now)
                                .order_by(Reminder.due_at)))


def deliver_one(session: Session, reminder_id: int, now: datetime, grace: timedelta,
                senders: Mapping[str, Callable[[Session, Reminder], None]] | None = None,
                tz: ZoneInfo | None = None) -> bool:
    """Queue one due reminder (or skip it if it is past the grace period) and move it on; returns
    whether it was sent. Its own transaction: one that fails cannot hold back the others.

    A reminder whose kind has a sender in `senders` ("report": the reports feature queues the report)
    is handed to it; any other is sent as its text.
    """
    row = session.scalar(lock(session, select(Reminder).where(  # the queue's row lock, for this transaction
        Reminder.id == reminder_id, Reminder.status == "active", Reminder.due_at <= now)))
    if row is None:  # another worker took it
        return False
    sent = False
    if now - row.due_at <= grace:
        send = (senders or {}).get(row.kind)
        if send is not None:
            send(session, row)
        else:
            send_text(session, row.chat_id, texts.REMINDER.format(text=texts.esc(row.text)), purpose="reminder")
        row.sent_count += 1
        row.last_sent_at = now
        sent = True
    else:
        row.missed_count += 1
    _move_on(row, now, tz)
    return sent


def _move_on(row: Reminder, now: datetime, tz: ZoneInfo | None) -> None:
    if row.recurrence == "once":
        row.status = "done"
        return
    zone = tz or ZoneInfo("UTC")
    due = next_occurrence(row.due_at, row.recurrence, zone)
    while due <= now:  # skip occurrences missed while down (one late send at most)
        due = next_occurrence(due, row.recurrence, zone)
    row.due_at = due


def skip_failed(session: Session, reminder_id: int, now: datetime, tz: ZoneInfo | None = None) -> None:
    """A reminder whose delivery raised: moved on (a one-off is marked failed) and the creator told."""
    row = session.get(Reminder, reminder_id)
    if row is None or row.status != "active":
        return
    row.missed_count += 1
    _move_on(row, now, tz)
    if row.recurrence == "once":
        row.status = "failed"
    send_text(session, row.chat_id, texts.REMINDER_FAILED.format(id=row.id), purpose="reminder")


async def deliver_each(services: Services, now: datetime, grace: timedelta,
                       senders: Mapping[str, Callable[[Session, Reminder], None]] | None = None) -> int:
    """Every due reminder in its own transaction, so one that fails is skipped and reported
    (skip_failed) while the others are sent. Returns how many were sent.

    `senders`: by kind (default: what the features registered, `Registry.reminder_kinds`)."""
    tz = services.settings.tz
    if senders is None:
        senders = {kind: partial(send, services) for kind, send in services.registry.reminder_kinds.items()}
    with services.sessions() as session:
        due = due_ids(session, now)
    sent = 0
    for reminder_id in due:
        try:
            async with services.unit() as session:
                # off the event loop: a sender may build something large (an export)
                sent += await asyncio.to_thread(deliver_one, session, reminder_id, now, grace, senders, tz)
        except Exception:
            log.exception("reminder %s failed; skipped", reminder_id)
            async with services.unit() as session:
                skip_failed(session, reminder_id, now, tz)
    return sent


async def deliver_reminders(context: BotContext) -> None:
    """Job: send due reminders (every 20 s, and at start-up)."""
    services = context.services
    await deliver_each(services, utcnow(), timedelta(minutes=services.settings.schedule.reminder_grace_minutes))
