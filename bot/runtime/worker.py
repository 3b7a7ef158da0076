"""One worker process: the Application, intake, processor, sender, jobs and health, supervised.

Any number of identical workers can share one PostgreSQL database (webhook mode behind a load
balancer): they coordinate only through the database. Roles one of them holds at a time:
- `scheduler`: runs the jobs that must happen once (reports, reminders, counts, retrains) and
  classifies comments; taken over by another worker when the holder dies;
- `poller`: polling mode only; a second poller refuses to start rather than fight over getUpdates.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select, update
from telegram import Bot, BotCommand

from bot.app import AnyApplication, api_root, build_application
from bot.channel.sentiment import ClassifierFactory, SentimentWorker, classifier_loader
from bot.config import WEBHOOK_SECRET_RE, Settings
from bot.faq.model import faq_model_for
from bot.faq.service import training_entries
from bot.faq.training import start_retrain
from bot.kernel.errors import notify_creator_once
from bot.kernel.model_factory import model_factory
from bot.kernel.services import Services
from bot.runtime.health import Health, Metrics
from bot.runtime.intake import ALLOWED_UPDATES, Poller, WebhookServer
from bot.runtime.jobs import schedule_jobs
from bot.runtime.processor import Processor
from bot.runtime.sender import OutboxSender
from bot.runtime.supervision import supervise
from bot.setup.checklist import refresh_settings
from bot.store import leases
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import OutboxMessage, RawUpdate, RuntimeLease, utcnow
from bot.web.server import WebServer, set_dashboard_menu_button, web_subapps
from nlp.engine import allow_exports, stop_exports
from nlp.model_factory import EncoderFactory, ModelFactory

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEDULER, POLLER, RECEIVER = "scheduler", "poller", "webhook:"
ROLE_TTL = timedelta(seconds=15)
ROLE_RENEW_SECONDS = 4.0


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """`await` a blocking call in a daemon thread: unlike `asyncio.to_thread`, a process that is
    told to stop does not wait for it (a model that is still loading)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def run() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:
            result, error = None, exc
        with suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, daemon=True, name="model-load").start()
    return await future


def worker_id() -> str:
    return f"{socket.gethostname()[:16]}-{os.getpid()}-{secrets.token_hex(3)}"


class PollerRoleTaken(SystemExit):
    pass


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
        self.worker = worker_id()
        self.engine = make_engine(settings.database.url)
        sessions = make_sessionmaker(self.engine)
        self.models = models or model_factory(settings, encoder_factory)  # FAQ and sentiment share its encoders
        self.services = Services(settings=settings, sessions=sessions, file_settings=settings,
                                 faq_model=faq_model_for(settings, models=self.models, sessions=sessions))
        with self.services.sessions() as session:  # settings changed in the chat win over the file
            refresh_settings(self.services, session)
        self.application: AnyApplication = build_application(self.services.settings, self.services)
        self.metrics = Metrics()
        self.health = Health(sessions, self.metrics, self.worker)
        lease = timedelta(seconds=settings.runtime.lease_seconds)
        self.sender = OutboxSender(self._sender_bot, sessions, settings.limits, self.worker, lease,
                                   self.metrics, lambda: self.health.beat("sender"))
        self.services.wake_sender = self.sender.wake
        self.processor = Processor(self.application, self.services, self._notify_dead, self.worker, lease,
                                   self.metrics, lambda: self.health.beat("processor"))
        self.sentiment = SentimentWorker(self.services, classifier_factory or classifier_loader(self.models))
        self.roles: set[str] = set()
        self.webhook: WebhookServer | None = None
        self._health_runner: web.AppRunner | None = None
        self.web: WebServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    def _sender_bot(self) -> Bot:
        """The sender's own Bot API connection (it runs in a thread with its own event loop)."""
        root = api_root(self.services.settings)
        return Bot(self.settings.telegram.token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")

    # ------------------------------------------------------------------ roles
    def _renew_roles(self) -> set[str]:
        wanted = [SCHEDULER]
        tg = self.settings.telegram
        if tg.mode == "webhook":
            wanted.append(RECEIVER + self.worker)
        elif POLLER in self.roles:
            wanted.append(POLLER)
        held: set[str] = set()
        with self.services.sessions() as session, session.begin():
            for name in wanted:
                if leases.acquire(session, name, self.worker, ROLE_TTL):
                    held.add(name)
        return held

    def _try_poller_role(self) -> tuple[bool, str]:
        """(taken, why not: the live holder and its lease expiry, or webhook receivers)."""
        with self.services.sessions() as session, session.begin():
            now = utcnow()
            receivers = session.scalars(select(RuntimeLease.holder).where(
                RuntimeLease.name.startswith(RECEIVER), RuntimeLease.expires_at > now)).all()
            if receivers:
                return False, f"webhook workers are running ({', '.join(receivers)}): stop them or use webhook mode"
            if leases.acquire(session, POLLER, self.worker, ROLE_TTL):
                return True, ""
            row = session.get(RuntimeLease, POLLER)
            return False, f"another process ({row.holder if row else '?'}) holds the poller role" + (
                f" until {row.expires_at:%H:%M:%S}" if row else "")

    async def _take_poller_role(self) -> str | None:
        """Take the poller role; None, or why not.

        A holder that died (kill -9) stops renewing its lease: wait for it to run out. A holder that
        renews it is alive: refuse rather than fight over getUpdates.
        """
        taken, why = await asyncio.to_thread(self._try_poller_role)
        deadline = time.monotonic() + ROLE_TTL.total_seconds() + ROLE_RENEW_SECONDS
        while not taken and time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            previous = why
            taken, why = await asyncio.to_thread(self._try_poller_role)
            if not taken and why != previous:  # the lease was renewed, or receivers appeared
                return why
            if not taken:
                log.info("waiting for the poller role: %s", why)
        return None if taken else why

    def _reclaim_all(self) -> None:
        """SQLite serves one process: claims left by an earlier run that died are ours to redo now."""
        with self.services.sessions() as session, session.begin():
            session.execute(update(RawUpdate).where(RawUpdate.status == "pending", RawUpdate.claimed_by.is_not(None))
                            .values(claimed_by=None, lease_until=None))
            session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending",
                                                        OutboxMessage.lease_until.is_not(None))
                            .values(claimed_by=None, lease_until=None))

    async def _keep_roles(self) -> None:
        while True:
            before = set(self.roles)
            self.roles = await asyncio.to_thread(self._renew_roles)
            self.health.beat("roles")
            if POLLER in before and POLLER not in self.roles:
                raise RuntimeError("lost the poller role to another process")
            if SCHEDULER in self.roles and SCHEDULER not in before:
                log.info("this worker (%s) now runs the scheduled jobs", self.worker)
            await asyncio.sleep(ROLE_RENEW_SECONDS)

    def _release_roles(self) -> None:
        with self.services.sessions() as session, session.begin():
            for name in leases.held_by(session, self.worker):
                leases.release(session, name, self.worker)

    # ------------------------------------------------------------------ loops
    async def _notify(self, exc: BaseException) -> None:
        async with self.services.unit() as session:
            notify_creator_once(session, exc, self.settings)

    def _notify_dead(self, session: Any, exc: BaseException) -> None:
        notify_creator_once(session, exc, self.settings)

    def _supervised(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        self._tasks.append(asyncio.create_task(supervise(name, loop, self.health, self._notify), name=name))

    async def _classify(self) -> None:
        """Sentiment for new comments, on the scheduler worker only (one alert per surge).

        The classifier loads here, in the background, so a worker is up (and stops on SIGTERM)
        without waiting for it; comments wait in the database meanwhile.
        """
        if self.sentiment.classifier is None:
            start = time.perf_counter()
            try:
                self.sentiment.classifier = await in_daemon_thread(self.sentiment.factory)
            except Exception:
                log.exception("sentiment model could not be loaded; comments stay unclassified")
                return
            log.info("sentiment model ready (%.1f s)", time.perf_counter() - start)
        while True:
            self.health.beat("sentiment")
            busy = SCHEDULER in self.roles and await self.sentiment.step()
            if not busy:
                await asyncio.sleep(1.0)

    async def _watch_models(self) -> None:
        while True:
            model = self.services.faq_model
            if model is not None:
                self.health.set_model("faq", model.version)
            self.health.beat("models")
            await asyncio.sleep(2.0)

    def _linked_chats(self) -> dict[int, int]:
        """The channel is ordered with its discussion group (live settings: they may change in the chat)."""
        channel = self.services.settings.channel
        return {channel.id: channel.discussion_group_id} if channel.id and channel.discussion_group_id else {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        allow_exports()
        tg = self.settings.telegram
        if tg.mode == "polling":
            refusal = await self._take_poller_role()
            if refusal:
                raise PollerRoleTaken(f"polling refused: {refusal}")
            self.roles.add(POLLER)
        self.roles |= await asyncio.to_thread(self._renew_roles)
        if self.engine.dialect.name == "sqlite":
            await asyncio.to_thread(self._reclaim_all)
        app = self.application
        await app.initialize()
        await self._load_models()
        # scheduled now, not at construction: a job due "0.2 s after start" must not be missed
        schedule_jobs(app, self.services.settings, lambda: SCHEDULER in self.roles)
        await app.start()
        self._supervised("roles", self._keep_roles)
        self._supervised("sender", self.sender.run)
        self._supervised("processor", self.processor.run)
        self._supervised("sentiment", self._classify)
        self._supervised("models", self._watch_models)
        if tg.mode == "webhook":
            self.webhook = WebhookServer(self.services.sessions, self._stored, tg.webhook_secret,
                                         tg.webhook_listen, tg.webhook_port, extra_routes=self.health.add_routes,
                                         subapps=web_subapps(self.services), linked=self._linked_chats)
            await self.webhook.start()
            await app.bot.set_webhook(tg.webhook_url, secret_token=tg.webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
        else:
            await app.bot.delete_webhook()
            poller = Poller(app.bot, self.services.sessions, self._stored, tg.poll_timeout,
                            lambda: self.health.beat("poller"), linked=self._linked_chats)
            self._supervised("poller", poller.run)
            await self._serve_health()
            if self.settings.web.port:
                self.web = WebServer(self.settings.web.listen, self.settings.web.port, web_subapps(self.services))
                await self.web.start()
        with suppress(Exception):
            await app.bot.set_my_commands([BotCommand("start", "About this bot"),
                                           BotCommand("help", "What I can do")])
        await set_dashboard_menu_button(app.bot, self.settings)
        log.info("creatorbot is running (%s, worker %s)", tg.mode, self.worker)

    def _stored(self, count: int) -> None:
        self.metrics.updates_received.inc(count)
        self.processor.wake()

    async def _serve_health(self) -> None:
        rt = self.settings.runtime
        if not rt.health_port:
            return
        app = web.Application()
        self.health.add_routes(app)
        self._health_runner = web.AppRunner(app, access_log=None)
        await self._health_runner.setup()
        await web.TCPSite(self._health_runner, rt.health_listen, rt.health_port).start()

    async def _load_models(self) -> None:
        """Load the live FAQ version before handling anything; train one if only entries exist."""
        model = self.services.faq_model
        assert model is not None
        if not await asyncio.to_thread(model.reload_if_changed):
            with self.services.sessions() as session:
                has_entries = bool(training_entries(session))
            if has_entries and model.matcher is None and SCHEDULER in self.roles:
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
        if self._health_runner:
            await self._health_runner.cleanup()
        with suppress(Exception):
            await asyncio.to_thread(self._release_roles)
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()
        self.engine.dispose()
        allow_exports()  # stopped: a later start or a CLI command in this process may export again
        log.info("creatorbot stopped (worker %s)", self.worker)

    async def run_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.create_task(self.start())
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()  # a failed start (or a refused poller role) ends the process here
                await stopping
                log.info("stopping (worker %s)", self.worker)
            else:  # told to stop while still starting
                starting.cancel()
                with suppress(asyncio.CancelledError):
                    await starting
        finally:
            stopping.cancel()
            await self.stop()
