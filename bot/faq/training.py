"""Retraining the FAQ model in the background and telling the creator when it is live."""

from __future__ import annotations

import asyncio
import logging

from bot import texts
from bot.config import Settings
from bot.faq.model import faq_model_for, live_model, train_from_database
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from nlp.faq_data import FaqEntry
from nlp.faq_routed import RoutedFaqMatcher
from nlp.model_factory import EncoderFactory, ModelFactory

log = logging.getLogger(__name__)


def start_retrain(services: Services, notify_chat: int | None) -> bool:
    """Start training unless a training is running. The creator is told when it is live."""
    model = live_model(services)
    if model is None or model.training.locked():
        return False
    return services.spawn(retrain(services, notify_chat))


def retrain_without_forgotten(services: Services) -> bool:
    """After /forgetme removed learned examples: once that transaction has committed, train a version
    without them and delete every older version (they hold the forgotten questions). Waits for a
    running training, on any worker, instead of skipping (the fleet's lock, bot/faq/model.py)."""
    if live_model(services) is None:
        return False
    return services.spawn(retrain(services, None, drop_older=True))


async def retrain(services: Services, notify_chat: int | None, drop_older: bool = False) -> str | None:
    model = live_model(services)
    if model is None:
        return None
    faq = services.settings.faq
    if drop_older:
        async with services.db_lock:
            pass  # the update that asked for this holds the lock until it has committed
    try:
        version, matcher = await asyncio.to_thread(
            train_from_database, model, services.sessions, faq.target_precision, faq.min_margin, None, drop_older)
        await asyncio.to_thread(model.reload_if_changed)
    except Exception as exc:
        if drop_older:  # nothing left to train on: no version may keep the forgotten questions
            await asyncio.to_thread(model.drop_versions_except, None)
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


def import_and_train(settings: Settings, entries: list[FaqEntry], encoder_factory: EncoderFactory | None = None,
                     target_precision: float | None = None,
                     models: ModelFactory | None = None) -> tuple[str, RoutedFaqMatcher]:
    """Store FAQ entries and train and publish a version from everything stored (blocking).

    What `creatorbot faq import` followed by `faq train` does; the demo and tests use it directly.
    """
    from bot.faq.entries import import_entries
    from bot.store.creators import creator_id_of
    from bot.store.db import make_engine, make_sessionmaker, upgrade

    upgrade(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        sessions = make_sessionmaker(engine, creator_id_of(engine, settings.creator_name, create=True))
        with sessions() as session, session.begin():
            import_entries(session, entries)
        precision = settings.faq.target_precision if target_precision is None else target_precision
        return train_from_database(faq_model_for(settings, encoder_factory, models, sessions), sessions, precision,
                                   settings.faq.min_margin)
    finally:
        engine.dispose()
