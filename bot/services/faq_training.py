"""Retraining the FAQ model in the background and telling the creator when it is live."""

from __future__ import annotations

import asyncio
import logging

from bot import texts
from bot.services.faq_model import train_from_database
from bot.services.outbox import send_text
from bot.services.unit import Services

log = logging.getLogger(__name__)


def start_retrain(services: Services, notify_chat: int | None) -> bool:
    """Start training unless a training is running. The creator is told when it is live."""
    model = services.faq_model
    if model is None or model.training.locked():
        return False
    return services.spawn(retrain(services, notify_chat))


async def retrain(services: Services, notify_chat: int | None) -> str | None:
    model = services.faq_model
    if model is None:
        return None
    faq = services.settings.faq
    try:
        version, matcher = await asyncio.to_thread(
            train_from_database, model, services.sessions, faq.target_precision, faq.min_margin)
        await asyncio.to_thread(model.reload_if_changed)
    except Exception as exc:
        log.exception("FAQ training failed")
        if notify_chat is not None:
            async with services.unit() as session:
                send_text(session, notify_chat, texts.RETRAIN_FAILED.format(error=texts.esc(str(exc))))
        return None
    if notify_chat is not None:
        cal = matcher.calibration
        async with services.unit() as session:
            send_text(session, notify_chat, texts.RETRAIN_DONE.format(
                version=version, entries=len(matcher.meta.entry_ids), examples=matcher.meta.n_examples,
                threshold=cal.threshold, seconds=matcher.meta.train_seconds))
    return version
