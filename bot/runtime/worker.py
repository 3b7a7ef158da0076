"""Running the bot: database, Application, update intake, processor and outbox sender."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from contextlib import suppress
from typing import Any

from telegram import BotCommand

from bot.app import AnyApplication, build_application
from bot.config import WEBHOOK_SECRET_RE, Settings
from bot.runtime.intake import ALLOWED_UPDATES, Poller, WebhookServer
from bot.runtime.processor import Processor
from bot.runtime.sender import OutboxSender
from bot.services.deps import Services
from bot.services.errors import notify_creator_once
from bot.services.faq import training_entries
from bot.services.faq_model import faq_model_for
from bot.services.faq_training import start_retrain
from bot.services.models import model_factory
from bot.services.sentiment import ClassifierFactory, SentimentWorker, classifier_loader
from bot.services.setup import refresh_settings
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.web.server import WebServer, set_dashboard_menu_button, web_subapps
from nlp.engine import allow_exports, stop_exports
from nlp.model_factory import EncoderFactory, ModelFactory

log = logging.getLogger(__name__)


class BotRuntime:
    """Start with `await start()`, stop with `await stop()`; `run_forever()` does both around signals."""

    def __init__(self, settings: Settings, *, migrate: bool = True,
                 encoder_factory: EncoderFactory | None = None,
                 classifier_factory: ClassifierFactory | None = None, models: ModelFactory | None = None) -> None:
        if not settings.telegram.token:
            raise SystemExit(
                "no bot token: set CREATORBOT_TOKEN or [telegram] token in the config "
                "(or try `creatorbot demo`, which needs none)")
        if settings.telegram.mode == "webhook" and not WEBHOOK_SECRET_RE.match(settings.telegram.webhook_secret):
            raise SystemExit(
                "webhook mode needs a webhook secret of at least 32 characters of A-Za-z0-9_- "
                "(`creatorbot check-config --generate-secret` makes one)")
        self.settings = settings
        if migrate:
            upgrade(settings.database.url)
        self.engine = make_engine(settings.database.url)
        self.models = models or model_factory(settings, encoder_factory)  # FAQ and sentiment share its encoders
        self.services = Services(settings=settings, sessions=make_sessionmaker(self.engine), file_settings=settings,
                                 faq_model=faq_model_for(settings, models=self.models))
        with self.services.sessions() as session:  # settings changed in the chat win over the file
            refresh_settings(self.services, session)
        self.application: AnyApplication = build_application(self.services.settings, self.services)
        bot = self.application.bot
        self.sender = OutboxSender(bot, self.services.sessions, settings.limits)
        self.services.wake_sender = self.sender.wake
        self.services.hand_over = self.sender.hand_over
        self.processor = Processor(self.application, self.services,
                                   functools.partial(notify_creator_once, settings=settings))
        self.sentiment = SentimentWorker(self.services, classifier_factory or classifier_loader(self.models))
        self.webhook: WebhookServer | None = None
        self.web: WebServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        allow_exports()
        app = self.application
        await app.initialize()
        await self._load_models()
        await app.start()
        self._tasks.append(asyncio.create_task(self.sender.run(), name="outbox"))
        self._tasks.append(asyncio.create_task(self.processor.run(), name="processor"))
        # loads its model first (exported once on a first start): updates are handled meanwhile
        self._tasks.append(asyncio.create_task(self.sentiment.run(), name="sentiment"))
        tg = self.settings.telegram
        if tg.mode == "webhook":
            self.webhook = WebhookServer(self.services.sessions, self.processor.stored, tg.webhook_secret,
                                         tg.webhook_listen, tg.webhook_port, subapps=web_subapps(self.services))
            await self.webhook.start()
            await app.bot.set_webhook(tg.webhook_url, secret_token=tg.webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
        else:
            await app.bot.delete_webhook()
            poller = Poller(app.bot, self.services.sessions, self.processor.stored, tg.poll_timeout)
            self._tasks.append(asyncio.create_task(poller.run(), name="poller"))
            if self.settings.web.port:
                self.web = WebServer(self.settings.web.listen, self.settings.web.port, web_subapps(self.services))
                await self.web.start()
        with suppress(Exception):
            await app.bot.set_my_commands([BotCommand("start", "About this bot"),
                                           BotCommand("help", "What I can do")])
        await set_dashboard_menu_button(app.bot, self.settings)
        log.info("creatorbot is running (%s)", tg.mode)

    async def _load_models(self) -> None:
        """Load the live FAQ version before handling anything; train one if only entries exist."""
        model = self.services.faq_model
        assert model is not None
        if not await asyncio.to_thread(model.reload_if_changed):
            with self.services.sessions() as session:
                has_entries = bool(training_entries(session))
            if has_entries and model.matcher is None:
                log.info("FAQ entries but no trained model: training one in the background")
                start_retrain(self.services, None)

    async def stop(self) -> None:
        stop_exports()  # a first start may still be exporting a model: that child must not outlive us
        for task in [*self._tasks, *self.services.background]:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.webhook:
            await self.webhook.stop()
        if self.web:
            await self.web.stop()
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()
        self.engine.dispose()
        log.info("creatorbot stopped")

    async def run_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
