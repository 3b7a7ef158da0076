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
import signal
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import select
from telegram import Bot, BotCommand

from bot.config import WEBHOOK_SECRET_RE, Settings
from bot.kernel.errors import notify_creator_once
from bot.kernel.live_settings import refresh_settings
from bot.kernel.registry import LoopEnv, Registry
from bot.kernel.services import Services
from bot.runtime import connections
from bot.runtime.application import AnyApplication, api_root, build_application
from bot.runtime.health import Health
from bot.runtime.http_site import WebServer
from bot.runtime.intake import ALLOWED_UPDATES, Poller, WebhookServer
from bot.runtime.jobs import schedule_jobs
from bot.runtime.processor import Processor
from bot.runtime.sender import OutboxSender
from bot.runtime.shared import Shared
from bot.runtime.supervision import supervise
from bot.store import leases
from bot.store.db import make_sessionmaker
from bot.store.models import RuntimeLease, utcnow
from bot.store.outbox_queue import OUTBOX
from bot.store.updates import UPDATES
from nlp.engine import EngineError, allow_exports, stop_exports
from nlp.model_factory import EncoderFactory, ModelFactory

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEDULER, POLLER, RECEIVER = "scheduler", "poller", "webhook:"
ROLE_TTL = timedelta(seconds=15)
ROLE_RENEW_SECONDS = 4.0



class PollerRoleTaken(SystemExit):
    pass


def prepare_models(registry: Registry, models: ModelFactory) -> list[str]:
    """What the features' models need before they load (a first start's ONNX exports), one at a time, before any
    is loaded (the memory peak is then one export next to a bot that holds no model); later calls only look
    them up. Returns the problems (an export that failed: loading that model reports it again, where needed)."""
    problems = []
    for prepare in registry.prepare_models:
        try:
            prepare(models)
        except EngineError as exc:
            log.warning("preparing the models: %s", exc)
            problems.append(str(exc))
    return problems


class BotRuntime:
    """Start with `await start()`, stop with `await stop()`; `run_forever()` does both around signals."""

    def __init__(self, settings: Settings, registry: Registry, *, migrate: bool = True,
                 encoder_factory: EncoderFactory | None = None, models: ModelFactory | None = None,
                 shared: Shared | None = None, creator_id: int | None = None) -> None:
        """One creator's bot. `shared`: what a process serving several creators shares between them (the
        database engines, the models, the metrics); None: this runtime is the process's only one and makes
        its own. `creator_id`: the creator's row (None: the one named `settings.creator_name`, made if new)."""
        if not settings.telegram.token:
            raise SystemExit(
                "no bot token: set CREATORBOT_TOKEN or [telegram] token in the config "
                "(or try `creatorbot demo`, which needs none)")
        if settings.telegram.mode == "webhook" and not WEBHOOK_SECRET_RE.match(settings.telegram.webhook_secret):
            raise SystemExit(
                "webhook mode needs a webhook secret of at least 32 characters of A-Za-z0-9_- "
                "(`creatorbot check-config --generate-secret` makes one)")
        self.settings = settings
        self.own_shared = shared is None
        if shared is None:
            shared = Shared.create(settings, migrate=migrate, encoder_factory=encoder_factory, models=models)
        self.shared = shared
        self.worker = shared.worker
        self.engine = shared.engine
        self.creator_id = creator_id if creator_id is not None else shared.creator_id(settings)
        self.creator = settings.creator_name
        sessions = make_sessionmaker(self.engine, self.creator_id)
        self.models = shared.models  # FAQ and sentiment share its encoders, and every creator shares them
        self.services = Services(settings=settings, sessions=sessions, file_settings=settings, registry=registry,
                                 models=self.models, db_lock=shared.db_lock)
        for build in registry.on_build:  # e.g. the FAQ attaches its live model
            build(self.services, self.models)
        with self.services.sessions() as session:  # settings changed in the chat win over the file
            refresh_settings(self.services, session)
        self.application: AnyApplication = build_application(self.services)
        self.metrics = shared.metrics.of(self.creator)
        self.health = Health(make_sessionmaker(shared.health_engine, self.creator_id), self.metrics, self.worker)
        lease = timedelta(seconds=settings.runtime.lease_seconds)
        self.sender = OutboxSender(self._sender_bot, sessions, settings.limits, self.worker, lease,
                                   self.metrics, lambda: self.health.beat("sender"), registry.undeliverable)
        self.services.wake_sender = self.sender.wake
        self.processor = Processor(self.application, self.services, self._notify_dead, self.worker, lease,
                                   self.metrics, lambda: self.health.beat("processor"))
        self.roles: set[str] = set()
        self.roles_renewed = time.monotonic()  # when the roles were last renewed (they lapse after ROLE_TTL)
        self.webhook: WebhookServer | None = None
        self._health_runner: web.AppRunner | None = None
        self.web: WebServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    def _sender_bot(self) -> Bot:
        """The sender's own Bot API connection (it runs in a thread with its own event loop)."""
        return connections.bot(self.settings.telegram.token, api_root(self.services.settings))

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
            UPDATES.reclaim_abandoned(session)  # through the queues, as every claim is
            OUTBOX.reclaim_abandoned(session)

    async def _keep_roles(self) -> None:
        while True:
            before = set(self.roles)
            try:
                self.roles = await asyncio.to_thread(self._renew_roles)
                self.roles_renewed = time.monotonic()
            except Exception:
                if time.monotonic() - self.roles_renewed > ROLE_TTL.total_seconds() * 2 / 3:
                    # our leases may run out before we can renew them: another worker may take the roles, so
                    # this one stops acting in them now (the scheduler's jobs, the poller) until it renews
                    lost, self.roles = self.roles, set()
                    if lost:
                        log.warning("cannot renew the roles %s: not acting in them until renewed", sorted(lost))
                    if POLLER in lost:
                        raise RuntimeError("lost the poller role: its lease could not be renewed") from None
                raise
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

    async def _watch_models(self) -> None:
        while True:
            for name, version in self.services.registry.model_versions.items():
                self.health.set_model(name, version(self.services))
            self.health.beat("models")
            await asyncio.sleep(2.0)

    def _is_leader(self) -> bool:
        return SCHEDULER in self.roles

    def web_apps(self) -> dict[str, web.Application]:
        return {prefix: sub for make in self.services.registry.web_apps for prefix, sub in make(self.services).items()}

    def _linked_chats(self) -> dict[int, int]:
        """The channel is ordered with its discussion group (live settings: they may change in the chat)."""
        channel = self.services.settings.channel
        return {channel.id: channel.discussion_group_id} if channel.id and channel.discussion_group_id else {}

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        allow_exports()
        # Models first (a first start exports them, 15-30 s), before the bot says anything to Telegram: from
        # its getMe on, a new bot answers at once instead of staying silent while it exports.
        if self.own_shared:  # else the deployment prepared them once for every creator
            await asyncio.to_thread(prepare_models, self.services.registry, self.models)
        tg = self.settings.telegram
        if tg.mode == "polling":
            refusal = await self._take_poller_role()
            if refusal:
                raise PollerRoleTaken(f"polling refused: {refusal}")
            self.roles.add(POLLER)
        self.roles |= await asyncio.to_thread(self._renew_roles)
        self.roles_renewed = time.monotonic()
        if self.engine.dialect.name == "sqlite":
            await asyncio.to_thread(self._reclaim_all)
        app = self.application
        await app.initialize()
        for started in self.services.registry.on_start:  # e.g. the live FAQ version loads before any update
            await started(self.services, self._is_leader())
        # scheduled now, not at construction: a job due "0.2 s after start" must not be missed
        schedule_jobs(app, self.services, self._is_leader)
        await app.start()
        self._supervised("roles", self._keep_roles)
        self._supervised("sender", self.sender.run)
        self._supervised("processor", self.processor.run)
        self._supervised("models", self._watch_models)
        for loop in self.services.registry.loops:  # e.g. sentiment for new comments
            env = LoopEnv(is_leader=self._is_leader, beat=partial(self.health.beat, loop.name))
            self._supervised(loop.name, loop.make(self.services, env))
        if tg.mode == "webhook":
            self.webhook = WebhookServer(self.services.sessions, self._stored, tg.webhook_secret,
                                         tg.webhook_listen, tg.webhook_port,
                                         subapps=self.web_apps() if self.own_shared else {}, linked=self._linked_chats)
            if self.own_shared:  # else the deployment serves every bot's webhook on one port
                await self.webhook.start()
            await app.bot.set_webhook(tg.webhook_url, secret_token=tg.webhook_secret,
                                      allowed_updates=ALLOWED_UPDATES)
        else:
            await app.bot.delete_webhook()
            poller = Poller(app.bot, self.services.sessions, self._stored, tg.poll_timeout,
                            lambda: self.health.beat("poller"), linked=self._linked_chats,
                            lock=self.services.db_lock)
            self._supervised("poller", poller.run)
            if self.settings.web.port and self.own_shared:
                self.web = WebServer(self.settings.web.listen, self.settings.web.port, self.web_apps())
                await self.web.start()
        if self.own_shared:
            await self._serve_health()  # its own port (loopback by default), never the public webhook port
        with suppress(Exception):
            await app.bot.set_my_commands([BotCommand("start", "About this bot"),
                                           BotCommand("help", "What I can do")])
        for ready in self.services.registry.on_bot_ready:  # e.g. the dashboard's menu button
            await ready(app.bot, self.settings)
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
        self.health.close()
        with suppress(Exception):
            await asyncio.to_thread(self._release_roles)
        app = self.application
        if app.running:
            await app.stop()
        await app.shutdown()
        if self.own_shared:
            self.shared.close()
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
