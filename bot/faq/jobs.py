"""The FAQ's scheduled work: following the published version, the handoff digest, the nightly and the
automatic retrain (never during a burst), the creator's daily review list, and loading the live
version at start-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.faq import answering, entries, handoffs, review
from bot.faq.model import live_model
from bot.faq.training import start_retrain
from bot.kernel.context import BotContext
from bot.kernel.services import Services
from bot.store.models import RawUpdate, utcnow

log = logging.getLogger(__name__)


async def reload_faq_model(context: BotContext) -> None:
    """Job (every worker): switch to the FAQ version published in the database (by any worker's
    /retrain, the nightly retrain or `creatorbot faq train`)."""
    model = live_model(context.services)
    if model is None:
        return
    try:
        await asyncio.to_thread(model.reload_if_changed)
    except SQLAlchemyError as exc:  # the database is away: keep answering with the live version
        log.warning("cannot read the published FAQ version (%s); keeping %s", type(exc).__name__, model.version)


async def handoff_digest(context: BotContext) -> None:
    """Job: questions that came in a burst reach the creator as one digest, not one message each."""
    services = context.services
    async with services.unit() as session:
        handoffs.send_digest(session, services.settings)


def burst(session: Session, settings: Settings, now: datetime | None = None) -> str | None:
    """Why the bot is in a burst now (no automatic retrain then), or None when it is quiet: more
    than `[faq] burst_pending_updates` stored updates wait to be handled, or more than
    `burst_updates_per_minute` updates arrived in the last 60 seconds. Both counts are bounded
    (they read at most limit + 1 rows)."""
    faq, now = settings.faq, now or utcnow()
    pending = session.scalar(select(func.count()).select_from(
        select(RawUpdate.id).where(RawUpdate.status == "pending").limit(faq.burst_pending_updates + 1).subquery()))
    if (pending or 0) > faq.burst_pending_updates:
        return f"more than {faq.burst_pending_updates} updates waiting"
    latest = select(RawUpdate.received_at).order_by(RawUpdate.id.desc()).limit(faq.burst_updates_per_minute + 1)
    sub = latest.subquery()
    recent = session.scalar(select(func.count()).select_from(sub).where(sub.c.received_at >= now - timedelta(seconds=60)))
    if (recent or 0) > faq.burst_updates_per_minute:
        return f"more than {faq.burst_updates_per_minute} updates in the last minute"
    return None


def auto_retrain(services: Services, now: datetime | None = None) -> str:
    """Retrain when it is due and the bot is not in a burst. Due: the nightly retrain was deferred
    (`model.retrain_due`) and something is new, or `[faq] retrain_after_examples` (> 0) new accepted or
    negative examples exist since the live version. Returns what it did: "started", "burst",
    "not due", "busy" (a training is running) or "no model"."""
    model = live_model(services)
    if model is None:
        return "no model"
    trained_at = model.trained_at
    after = services.settings.faq.retrain_after_examples
    with services.sessions() as session:
        new = entries.examples_since(session, trained_at)
        due = new > 0 and (model.retrain_due or (after > 0 and new >= after))
        why = burst(session, services.settings, now) if due else None
    if not due:
        model.retrain_due = False
        return "not due"
    if why is not None:
        log.info("FAQ retrain due (%d new examples) but waiting: %s", new, why)
        return "burst"
    if not start_retrain(services, services.settings.creator_chat_id):
        return "busy"
    model.retrain_due = False
    return "started"


async def nightly_retrain(context: BotContext) -> None:
    """Job: retrain when new examples were learned since the live version (later, when the bot is in a
    burst now: the automatic-retrain job picks it up)."""
    model = live_model(context.services)
    if model is None:
        return
    model.retrain_due = True
    auto_retrain(context.services)


async def auto_retrain_job(context: BotContext) -> None:
    """Job: the automatic retrain (see `auto_retrain`)."""
    auto_retrain(context.services)


async def review_list(context: BotContext) -> None:
    """Job: the creator's daily "were these right?" list (once a day, only near-threshold answers)."""
    services = context.services
    model = live_model(services)
    default = model.default_threshold if model is not None else None
    async with services.unit() as session:
        review.send_review_list(session, services.settings, default_threshold=default)


async def load_live_version(services: Services, leader: bool) -> None:
    """At start-up, before any update: load the live FAQ version; train one if only entries exist."""
    model = live_model(services)
    assert model is not None
    if not await asyncio.to_thread(model.reload_if_changed, True):  # its head loads at the first question
        with services.sessions() as session:
            has_entries = bool(entries.training_entries(session))
        if has_entries and model.version is None and leader:
            log.info("FAQ entries but no trained model: training one in the background")
            start_retrain(services, None)


def _room(services: Services) -> Callable[[int], int]:
    """Answers each sender may still get (the creator is never limited)."""
    limits, now, settings = services.follower_limits, time.monotonic(), services.settings
    return lambda user_id: 1 << 30 if settings.is_creator(user_id) else limits.room(user_id, now)


def start_matching(services: Services, payloads: Sequence[dict[str, Any]]) -> None:
    """One model call for the questions of a batch of stored updates (none past a follower's limit)."""
    model = live_model(services)
    if model is not None:
        model.prefetch(answering.questions_in(list(payloads), _room(services)))


async def matched(services: Services, payload: dict[str, Any]) -> None:
    """Wait for this update's questions to be matched (before its transaction opens)."""
    model = live_model(services)
    if model is not None:
        await model.ready(answering.questions_in([payload], _room(services)))
