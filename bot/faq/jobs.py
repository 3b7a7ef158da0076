"""The FAQ's scheduled work: following the published version, the handoff digest, the nightly retrain,
and loading the live version at start-up."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.faq import answering, entries, handoffs
from bot.faq.model import live_model
from bot.faq.training import start_retrain
from bot.kernel.context import BotContext
from bot.kernel.services import Services

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


async def nightly_retrain(context: BotContext) -> None:
    """Job: retrain when new examples were learned since the live version."""
    services = context.services
    model = live_model(services)
    if model is None:
        return
    trained_at = model.matcher.meta.trained_at if model.matcher else 0.0
    with services.sessions() as session:
        new = entries.examples_since(session, trained_at)
    if new:
        start_retrain(services, services.settings.creator_chat_id)


async def load_live_version(services: Services, leader: bool) -> None:
    """At start-up, before any update: load the live FAQ version; train one if only entries exist."""
    model = live_model(services)
    assert model is not None
    if not await asyncio.to_thread(model.reload_if_changed):
        with services.sessions() as session:
            has_entries = bool(entries.training_entries(session))
        if has_entries and model.matcher is None and leader:
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
