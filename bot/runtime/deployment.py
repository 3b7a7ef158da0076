"""One process serving every active creator of the database: `creatorbot run`.

Each creator has a runtime of their own (bot/runtime/worker.py: their bot's Application, intake, processor,
sender, jobs), all on one event loop and sharing what is the same for everybody (bot/runtime/shared.py: the
database engines, the models, the metrics). The creators table is read every `WATCH_SECONDS`: a creator added
with `creatorbot creators add` starts, a paused or removed one stops, without a restart.

Faults stay with their creator: a bot whose token Telegram refuses (401), or whose runtime cannot start, is
marked down with the reason (`creators list`, `/healthz`, the log) and tried again with a growing back-off,
while the others go on. HTTP: one health port for the process; in webhook mode one port for every bot, each
at its own path with its own secret (the `default` creator at the configured path, others at `/<name>/...`);
the dashboards likewise under `/<name>/dashboard/`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aiohttp import web
from telegram.error import InvalidToken

from bot.config import CreatorSpec, Settings
from bot.kernel.registry import Registry
from bot.runtime.shared import Shared
from bot.runtime.worker import BotRuntime, PollerRoleTaken, prepare_models
from bot.store import creators
from bot.store.creators import CreatorRow
from bot.store.scope import fleet_sessions
from nlp.model_factory import EncoderFactory, ModelFactory

log = logging.getLogger(__name__)
WATCH_SECONDS = 10.0  # an added, paused or removed creator is picked up within this (plus a start)
RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # a creator that is down is tried again after these, doubling
TOKEN_REFUSED = "Telegram refused the token (401): check it with @BotFather"
START_AT_ONCE = 32  # creators starting together (each start asks Telegram a few things)


@dataclasses.dataclass
class Down:
    reason: str
    attempts: int = 1
    retry_at: float = 0.0


def spec_from_row(row: CreatorRow, env: dict[str, str], top: Settings) -> CreatorSpec:
    """A creator the config does not name (added with the CLI), from its row; its token from `token_env`; what
    the row does not say comes from the top-level tables."""
    s = row.settings
    return CreatorSpec(name=row.name, token_env=row.token_env, token=env.get(row.token_env, ""),
                       user_ids=row.user_ids, inbox_chat_id=int(s.get("inbox_chat_id", 0)),
                       language=str(s.get("language", "")),
                       channel=dataclasses.replace(top.channel, **s["channel"]) if s.get("channel") else None,
                       inbox=dataclasses.replace(top.inbox, **s["inbox"]) if s.get("inbox") else None,
                       schedule=dataclasses.replace(top.schedule, **s["schedule"]) if s.get("schedule") else None)


class Deployment:
    """Start with `await start()`, stop with `await stop()`; `run_forever()` does both around signals."""

    def __init__(self, settings: Settings, compose: Callable[[], Registry], *, migrate: bool = True,
                 encoder_factory: EncoderFactory | None = None, models: ModelFactory | None = None,
                 env: dict[str, str] | None = None, watch_seconds: float = WATCH_SECONDS) -> None:
        self.settings = settings
        self.compose = compose
        self.env = dict(os.environ) if env is None else env
        self.watch_seconds = watch_seconds
        self.shared = Shared.create(settings, migrate=migrate, encoder_factory=encoder_factory, models=models)
        self.specs = {spec.name: spec for spec in settings.creators}
        with fleet_sessions(self.shared.engine)() as session, session.begin():
            creators.seed(session, list(settings.creators))
        self.runtimes: dict[int, BotRuntime] = {}
        self.names: dict[int, str] = {}
        self.down: dict[int, Down] = {}
        self._watch: asyncio.Task[None] | None = None
        self._front: web.AppRunner | None = None
        self._front_key: tuple[int, ...] = ()
        self._health: web.AppRunner | None = None
        self._lock = asyncio.Lock()
        self.refused: PollerRoleTaken | None = None  # another process polls this bot
        self.starting = True  # until the models are prepared and the first creators started

    # ------------------------------------------------------------------ which creators run
    def _rows(self) -> list[CreatorRow]:
        with fleet_sessions(self.shared.engine)() as session:
            return creators.all_creators(session)

    def _mark(self, creator_id: int, reason: str | None) -> None:
        with fleet_sessions(self.shared.engine)() as session, session.begin():
            creators.mark_down(session, creator_id, reason)

    def settings_for(self, row: CreatorRow) -> Settings:
        """The creator's settings, with their token from $token_env or their token file (read now: a token
        written or replaced after `creators add` is picked up at the next start, without a restart); ValueError
        when the token file cannot be read."""
        spec = self.specs.get(row.name) or spec_from_row(row, self.env, self.settings)
        if spec.token_env and self.env.get(spec.token_env):
            spec = dataclasses.replace(spec, token=self.env[spec.token_env])
        elif not spec.token and row.settings.get(creators.TOKEN_FILE):
            spec = dataclasses.replace(spec, token=creators.token_from_file(row.settings[creators.TOKEN_FILE]))
        return self.settings.for_creator(spec)

    async def _start_one(self, row: CreatorRow) -> None:
        try:
            settings = self.settings_for(row)
        except ValueError as exc:  # the token file: unreadable, or no token in it
            await self._went_down(row, str(exc))
            return
        if not settings.telegram.token:
            var = row.token_env or "its token variable"
            await self._went_down(row, f"no token: set {var}")
            return
        runtime: BotRuntime | None = None
        try:
            runtime = BotRuntime(settings, self.compose(), migrate=False, shared=self.shared, creator_id=row.id)
            await runtime.start()
        except (Exception, SystemExit) as exc:  # one creator's fault never stops the others
            if isinstance(exc, PollerRoleTaken):  # another process polls this bot
                self.refused, reason = exc, str(exc)
            else:
                reason = TOKEN_REFUSED if isinstance(exc, InvalidToken) else f"{type(exc).__name__}: {exc}"[:300]
                log.warning("creator %s cannot start: %s", row.name, reason)
            if runtime is not None:
                with suppress(Exception):
                    await runtime.stop()
            await self._went_down(row, reason)
            return
        self.runtimes[row.id], self.names[row.id] = runtime, row.name
        self.shared.metrics.creator_up.labels(row.name).set(1)
        if row.id in self.down or row.down_reason:
            log.info("creator %s is served again", row.name)
            self.down.pop(row.id, None)
            await asyncio.to_thread(self._mark, row.id, None)

    async def _went_down(self, row: CreatorRow, reason: str) -> None:
        down = self.down.get(row.id)
        attempts = down.attempts + 1 if down else 1
        delay = min(RETRY_MAX, RETRY_FIRST * 2 ** (attempts - 1))
        self.down[row.id] = Down(reason, attempts, time.monotonic() + delay)
        self.shared.metrics.creator_up.labels(row.name).set(0)
        await asyncio.to_thread(self._mark, row.id, reason)

    async def _stop_one(self, creator_id: int) -> None:
        runtime = self.runtimes.pop(creator_id, None)
        name = self.names.pop(creator_id, None)
        if runtime is not None:
            with suppress(Exception):
                await runtime.stop()
            log.info("creator %s is no longer served here", name)
        if name:
            with suppress(KeyError):
                self.shared.metrics.creator_up.remove(name)

    def _revoked(self, runtime: BotRuntime) -> bool:
        poller = runtime.health.loops.get("poller")
        return poller is not None and poller.last_error == InvalidToken.__name__ and not poller.alive

    async def sync(self) -> None:
        """Start the active creators that are not running (and not waiting for a retry), stop the ones that
        are no longer active, and take down a running bot whose token was revoked."""
        async with self._lock:
            rows = await asyncio.to_thread(self._rows)
            active = {r.id: r for r in rows if r.status == creators.ACTIVE}
            for creator_id in [c for c in self.runtimes if c not in active]:
                await self._stop_one(creator_id)
                self.down.pop(creator_id, None)
            for creator_id, runtime in list(self.runtimes.items()):
                if self._revoked(runtime):
                    await self._stop_one(creator_id)
                    await self._went_down(active[creator_id], TOKEN_REFUSED)
            now = time.monotonic()
            due = [r for cid, r in active.items() if cid not in self.runtimes
                   and (cid not in self.down or self.down[cid].retry_at <= now)]
            gate = asyncio.Semaphore(START_AT_ONCE)

            async def start(row: CreatorRow) -> None:
                async with gate:
                    await self._start_one(row)

            await asyncio.gather(*(start(r) for r in due))
            await self._serve_front()

    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(self.watch_seconds)
            try:
                await self.sync()
            except Exception:  # the database is away for a moment: the next round tries again
                log.warning("reading the creators failed", exc_info=True)

    # ------------------------------------------------------------------ HTTP
    def _front_app(self) -> web.Application | None:
        """Every bot's webhook (webhook mode) and dashboard, on one port."""
        tg, webcfg = self.settings.telegram, self.settings.web
        port = tg.webhook_port if tg.mode == "webhook" else webcfg.port
        if not port:
            return None
        app = web.Application()
        for creator_id in sorted(self.runtimes):
            runtime, name = self.runtimes[creator_id], self.names[creator_id]
            prefix = "" if name == creators.DEFAULT_NAME else f"/{name}"
            if runtime.webhook is not None:  # the path of the creator's webhook_url (bot.config: for_creator)
                app.router.add_post(runtime.webhook.path + prefix, runtime.webhook.receive)
            for path, sub in runtime.web_apps().items():
                app.add_subapp(prefix + path, sub)
        return app

    async def _serve_front(self) -> None:
        key = tuple(sorted(self.runtimes))
        if key == self._front_key and self._front is not None:
            return
        tg = self.settings.telegram
        listen, port = (tg.webhook_listen, tg.webhook_port) if tg.mode == "webhook" else \
            (self.settings.web.listen, self.settings.web.port)
        app = self._front_app()
        if self._front is not None:  # the set of creators changed: the same port, new routes
            await self._front.cleanup()
            self._front = None
        self._front_key = key
        if app is None:
            return
        self._front = web.AppRunner(app, access_log=None)
        await self._front.setup()
        await web.TCPSite(self._front, listen, port).start()

    async def healthz(self, request: web.Request) -> web.Response:
        ok, body = await self.report()
        return web.json_response(body, status=200 if ok else 503)

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """Every creator's health; the process is healthy while each served creator is (a creator that is
        down is reported with its reason and does not make the others unhealthy)."""
        served = {}
        for creator_id, runtime in list(self.runtimes.items()):
            served[self.names[creator_id]] = await runtime.health.report()
        rows = {r.id: r for r in await asyncio.to_thread(self._rows)}
        body: dict[str, Any] = {"worker": self.shared.worker, "creators": {}}
        for creator_id, row in rows.items():
            if row.name in served:
                ok, detail = served[row.name]
                body["creators"][row.name] = {"status": "up" if ok else "unhealthy", **detail}
            elif row.status != creators.ACTIVE:
                body["creators"][row.name] = {"status": row.status}
            else:
                down = self.down.get(creator_id)
                if down is None and (self.starting or not row.down_reason):
                    body["creators"][row.name] = {"status": "starting"}
                else:
                    body["creators"][row.name] = {"status": "down",
                                                  "reason": down.reason if down else row.down_reason}
        ok = all(detail[0] for detail in served.values()) and not self.starting
        body["ok"] = ok
        if self.starting:
            body["status"] = "starting"
        return ok, body

    async def metrics_page(self, request: web.Request) -> web.Response:
        from prometheus_client import generate_latest
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        for runtime in list(self.runtimes.values()):
            await runtime.health.report()  # refreshes the queue gauges
        return web.Response(body=generate_latest(self.shared.metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _serve_health(self) -> None:
        rt = self.settings.runtime
        if not rt.health_port:
            return
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        self._health = web.AppRunner(app, access_log=None)
        await self._health.setup()
        await web.TCPSite(self._health, rt.health_listen, rt.health_port).start()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        # every creator's loops make short database calls in the loop's executor (default: 6 threads on 2 cores);
        # a training or a slow call of one creator must not hold up the others' calls
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=min(64, 8 + len(self.settings.creators) // 2), thread_name_prefix="db"))
        await self._serve_health()  # says "starting" (503) until the bots can answer
        # the models once for every creator, before any bot says anything to Telegram (a first start exports)
        await asyncio.to_thread(prepare_models, self.compose(), self.shared.models)
        await self.sync()
        self.starting = False
        if self.refused is not None and not self.runtimes:  # another process polls every bot we have: refuse
            raise self.refused
        self._watch = asyncio.create_task(self._watch_loop(), name="creators")
        log.info("creatorbot serves %d creator(s): %s", len(self.runtimes), ", ".join(sorted(self.names.values())))

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        await asyncio.gather(*(self._stop_one(c) for c in list(self.runtimes)))  # together: each waits for its sender
        if self._front is not None:
            await self._front.cleanup()
        if self._health is not None:
            await self._health.cleanup()
        self.shared.close()

    async def run_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            await stop.wait()
        finally:
            await self.stop()
