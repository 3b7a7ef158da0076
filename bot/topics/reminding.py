"""Setting a reminder by hand, one use case for `/remind` in the chat and the dashboard: the same
limits and the same words when one is refused (the reminders themselves live in bot.kernel.reminders)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import texts
from bot.kernel import reminders
from bot.store.models import Reminder


class ReminderRefused(ValueError):
    """Why a reminder was not set (plain text, for the chat and the dashboard alike)."""


def refusal(session: Session, chat_id: int, text: str) -> str | None:
    """What stops `text` from becoming one more active reminder of `chat_id`, or None."""
    if not text.strip():
        return texts.REMIND_NO_TEXT
    if len(text) > reminders.MAX_TEXT:
        return texts.REMIND_TOO_LONG.format(n=len(text), limit=reminders.MAX_TEXT)
    if reminders.active_count(session, chat_id) >= reminders.MAX_ACTIVE:
        return texts.REMIND_TOO_MANY.format(n=reminders.MAX_ACTIVE)
    return None


def set_reminder(session: Session, chat_id: int, when: reminders.When, text: str) -> Reminder:
    """A new manual reminder, within the limits that keep /reminders in one message; ReminderRefused
    says which one it would break."""
    text = text.strip()
    problem = refusal(session, chat_id, text)
    if problem is not None:
        raise ReminderRefused(problem)
    return reminders.create(session, chat_id, when, text)
