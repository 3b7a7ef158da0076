"""The daily automatic reminder ([recsys] auto_reminders): today's best slot, the top suggested topic."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel import reminders
from bot.kernel.engagement import posting_time_model
from bot.kernel.services import Services
from bot.store.models import Reminder, utcnow
from bot.topics import suggestions as topics


@dataclass(frozen=True)
class AutoReminder:
    due_at: datetime
    text: str


def plan_auto_reminder(session: Session, settings: Settings, now: datetime) -> AutoReminder | None:
    """The best slot in the next 24 hours with the top topic that is not an experiment (None: no
    topic to suggest yet). Blocking: fits the recommender and the posting-time model."""
    suggestions = [s for s in topics.suggest_topics(session, settings, now=now) if not s.score.experiment]
    if not suggestions:
        return None
    start, _ = posting_time_model(session, settings).best_slots(now, k=1, horizon_hours=24)[0]
    return AutoReminder(start, texts.AUTO_REMINDER.format(tag=suggestions[0].tag))


async def schedule_auto_reminder(services: Services, now: datetime | None = None) -> Reminder | None:
    """Plan in a thread (no transaction open meanwhile), then store the reminder for the creator."""
    settings, now = services.settings, now or utcnow()
    chat = settings.creator_chat_id
    if chat is None:
        return None

    def plan() -> AutoReminder | None:
        with services.sessions() as session:
            return plan_auto_reminder(session, settings, now)

    planned = await asyncio.to_thread(plan)
    if planned is None:
        return None
    async with services.unit() as session:
        return reminders.create(session, chat, reminders.When(planned.due_at, "once"), planned.text, kind="auto")
