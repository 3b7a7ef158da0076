"""Due-time work that survives restarts: stored `Reminder` rows, delivered through the outbox exactly once.

Shared by the features that have work due at a time: the creator's reminders (bot/topics: /remind, the
daily auto-reminder), the scheduled report and /export (bot/reports: kinds "report" and "export", built
off the update's transaction by `run_now`). A row whose kind has a sender (`Registry.reminder_kind`) is
handed to it; any other is sent as its text. The job (`deliver_reminders`) is one of the runtime's own.

Delivery marks the reminder (or moves a recurring one to its next time) in the same transaction
that queues the message, so a crash can neither lose nor repeat it. A reminder that fell due while
the bot was down is sent once, late, if it is within the grace period; older ones are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot import texts
from bot.kernel.context import BotContext
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from bot.store.models import Reminder, utcnow
from bot.store.queue import lock
from bot.store.retry import REMINDERS_POLICY, kind_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class When:
    due_at: datetime
    recurrence: str  # once | daily | weekly


def create(session: Session, chat_id: int, when: When, text: str, kind: str = "manual") -> Reminder:
    row = Reminder(chat_id=chat_id, text=text, due_at=when.due_at, recurrence=when.recurrence, kind=kind)
    session.add(row)
    session.flush()
    return row


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
    return list(session.scalars(select(Reminder.id).where(
        Reminder.status == "active", Reminder.due_at <= now,
        or_(Reminder.retry_at.is_(None), Reminder.retry_at <= now)).order_by(Reminder.due_at)))


def deliver_one(session: Session, reminder_id: int, now: datetime, grace: timedelta,
                senders: Mapping[str, Callable[[Session, Reminder], None]] | None = None,
                tz: ZoneInfo | None = None) -> bool:
    """Queue one due reminder (or skip it if it is past the grace period) and move it on; returns
    whether it was sent. Its own transaction: one that fails cannot hold back the others.

    A reminder whose kind has a sender in `senders` ("report": the reports feature queues the report)
    is handed to it; any other is sent as its text.
    """
    row = session.scalar(lock(session, select(Reminder).where(  # the queue's row lock, for this transaction
        Reminder.id == reminder_id, Reminder.status == "active", Reminder.due_at <= now,
        or_(Reminder.retry_at.is_(None), Reminder.retry_at <= now))))
    if row is None:  # another worker took it
        return False
    row.attempts, row.retry_at, row.last_error = 0, None, None
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


def failed(session: Session, reminder_id: int, now: datetime, exc: BaseException,
           tz: ZoneInfo | None = None) -> bool:
    """A reminder whose delivery raised, under the one retry policy: tried again later, or (permanent,
    or the last attempt) skipped with the creator told. Returns whether it was given up."""
    row = session.get(Reminder, reminder_id)
    if row is None or row.status != "active":
        return False
    verdict = REMINDERS_POLICY.after(kind_of(exc), row.attempts, now - row.due_at)
    row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    if not verdict.dead:
        row.attempts += int(verdict.counts)
        row.retry_at = now + verdict.delay
        return False
    row.attempts, row.retry_at = 0, None
    skip_failed(session, row, now, tz)
    return True


def skip_failed(session: Session, row: Reminder, now: datetime, tz: ZoneInfo | None = None) -> None:
    """A reminder given up: moved on (a one-off is marked failed) and the creator told."""
    row.missed_count += 1
    _move_on(row, now, tz)
    if row.recurrence == "once":
        row.status = "failed"
    send_text(session, row.chat_id, texts.REMINDER_FAILED.format(id=row.id), purpose="reminder")


async def deliver_each(services: Services, now: datetime, grace: timedelta,
                       senders: Mapping[str, Callable[[Session, Reminder], None]] | None = None) -> int:
    """Every due reminder in its own transaction, so one that fails is tried again later (and after the
    policy's last attempt skipped and reported) while the others are sent. Returns how many were sent.

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
        except Exception as exc:
            async with services.unit() as session:
                dead = failed(session, reminder_id, now, exc, tz)
            log.error("reminder %s failed%s", reminder_id, "; skipped" if dead else "; tried again later",
                      exc_info=exc)
    return sent


async def deliver_reminders(context: BotContext) -> None:
    """Job: send due reminders (every 20 s, and at start-up)."""
    services = context.services
    await deliver_each(services, utcnow(), timedelta(minutes=services.settings.schedule.reminder_grace_minutes))
