"""The creator's reminders, one use case for `/remind` and `/reminders` in the chat and the dashboard:
reading the time (`parse_when`), the same limits and the same words when one is refused, listing and
cancelling. Delivering them (due rows, the reminder job) is bot/kernel/reminders.py, which the scheduled
report and exports share."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import WEEKDAYS
from bot.kernel import reminders
from bot.kernel.reminders import When
from bot.store.models import Reminder

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


class ReminderRefused(ValueError):
    """Why a reminder was not set (plain text, for the chat and the dashboard alike)."""


def refusal(session: Session, chat_id: int, text: str) -> str | None:
    """What stops `text` from becoming one more active reminder of `chat_id`, or None."""
    if not text.strip():
        return texts.REMIND_NO_TEXT
    if len(text) > MAX_TEXT:
        return texts.REMIND_TOO_LONG.format(n=len(text), limit=MAX_TEXT)
    if active_count(session, chat_id) >= MAX_ACTIVE:
        return texts.REMIND_TOO_MANY.format(n=MAX_ACTIVE)
    return None


def set_reminder(session: Session, chat_id: int, when: When, text: str) -> Reminder:
    """A new manual reminder, within the limits that keep /reminders in one message; ReminderRefused
    says which one it would break."""
    text = text.strip()
    problem = refusal(session, chat_id, text)
    if problem is not None:
        raise ReminderRefused(problem)
    return reminders.create(session, chat_id, when, text)
