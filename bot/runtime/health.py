"""Is this worker alive, and how far behind are the queues: `GET /healthz` and `GET /metrics`.

Each supervised loop reports here (started, beat, failed). `/healthz` answers 200 when every loop
is alive and the database answers, 503 otherwise, with the details as JSON; `/metrics` is the
Prometheus text format. Both are served on a port of their own (`[runtime] health_port`, on
127.0.0.1 by default), never on the public webhook port, and tell no error text: that goes to the log.

The database probe runs on one thread of its own with its own small pool, one probe at a time
(requests that come while one is running share it), and gives up after PROBE_TIMEOUT: a database
that hangs answers 503 in seconds and never ties up the threads or connections the bot works with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session, sessionmaker

from bot.store.outbox_queue import outbox_depth
from bot.store.updates import queue_depth

log = logging.getLogger(__name__)
STALL_AFTER = 60.0  # a loop that has not beaten for this long counts as stuck
PROBE_TIMEOUT = 3.0  # the database must answer the probe within this many seconds


class MetricFamilies:
    """The process's Prometheus metrics, each labelled with the creator it counts for (one registry per
    process, so tests can run several processes side by side)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r, c = self.registry, ["creator"]
        self.updates_received = Counter("creatorbot_updates_received", "Updates stored by this worker", c, registry=r)
        self.updates_handled = Counter("creatorbot_updates_handled", "Updates handled, by outcome", [*c, "outcome"],
                                       registry=r)
        self.handler_seconds = Histogram("creatorbot_handler_seconds", "Time to handle one update", c, registry=r,
                                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.outbox_sent = Counter("creatorbot_outbox_sent", "Outbox messages sent by this worker", c, registry=r)
        self.outbox_dead = Counter("creatorbot_outbox_dead", "Outbox messages dead-lettered by this worker", c,
                                   registry=r)
        self.outbox_rows = Gauge("creatorbot_outbox_rows", "Outbox rows in the database, by status", [*c, "status"],
                                 registry=r)
        self.updates_pending = Gauge("creatorbot_updates_pending", "Stored updates not handled yet", c, registry=r)
        self.update_lag = Gauge("creatorbot_update_lag_seconds", "Age of the oldest pending update", c, registry=r)
        self.loop_failures = Counter("creatorbot_loop_failures", "Supervised loop failures", [*c, "loop"], registry=r)
        self.model_version = Gauge("creatorbot_model_version", "Live model versions (value 1)",
                                   [*c, "model", "version"], registry=r)
        self.creator_up = Gauge("creatorbot_creator_up", "1 while the creator's bot is served, 0 while it is down",
                                c, registry=r)

    def of(self, creator: str) -> Metrics:
        return Metrics(self, creator)


class _Bound:
    """One metric with the creator's label filled in: `.inc()`, `.set()`, `.observe()` for a metric with no
    other label, `.labels(...)` / `.remove(...)` for the others."""

    def __init__(self, metric: Any, creator: str) -> None:
        self.metric, self.creator = metric, creator
        self._child: Any = metric.labels(creator) if len(metric._labelnames) == 1 else None

    def labels(self, *values: str) -> Any:
        return self.metric.labels(self.creator, *values)

    def remove(self, *values: str) -> None:
        self.metric.remove(self.creator, *values)

    def inc(self, amount: float = 1) -> None:
        self._child.inc(amount)

    def set(self, value: float) -> None:
        self._child.set(value)

    def observe(self, value: float) -> None:
        self._child.observe(value)


class Metrics:
    """One creator's view of the metrics (`MetricFamilies.of`): the same names, the creator's label set."""

    def __init__(self, families: MetricFamilies | None = None, creator: str = "default") -> None:
        f = families or MetricFamilies()
        self.families, self.creator, self.registry = f, creator, f.registry
        self.updates_received = _Bound(f.updates_received, creator)
        self.updates_handled = _Bound(f.updates_handled, creator)
        self.handler_seconds = _Bound(f.handler_seconds, creator)
        self.outbox_sent = _Bound(f.outbox_sent, creator)
        self.outbox_dead = _Bound(f.outbox_dead, creator)
        self.outbox_rows = _Bound(f.outbox_rows, creator)
        self.updates_pending = _Bound(f.updates_pending, creator)
        self.update_lag = _Bound(f.update_lag, creator)
        self.loop_failures = _Bound(f.loop_failures, creator)
        self.model_version = _Bound(f.model_version, creator)


@dataclass
class LoopState:
    alive: bool = False
    last_beat: float = 0.0
    failures: int = 0
    last_error: str | None = None


class Health:
    """Loop states of this worker plus a look at the database's queues."""

    def __init__(self, sessions: sessionmaker[Session], metrics: Metrics, worker: str) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.worker = worker
        self.loops: dict[str, LoopState] = {}
        self.models: dict[str, str] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-probe")
        self._probe: asyncio.Future[dict[str, Any]] | None = None

    def started(self, name: str) -> None:
        state = self.loops.setdefault(name, LoopState())
        state.alive, state.last_beat = True, time.monotonic()

    def beat(self, name: str) -> None:
        state = self.loops.setdefault(name, LoopState())
        state.alive, state.last_beat = True, time.monotonic()

    def failed(self, name: str, exc: BaseException) -> None:
        state = self.loops.setdefault(name, LoopState())
        state.alive = False
        state.failures += 1
        state.last_error = type(exc).__name__  # the message (hosts, SQL errors) is in the log only
        self.metrics.loop_failures.labels(name).inc()

    def stopped(self, name: str) -> None:
        self.loops.pop(name, None)

    def set_model(self, model: str, version: str | None) -> None:
        if version and self.models.get(model) != version:
            old = self.models.get(model)
            if old:
                self.metrics.model_version.remove(model, old)
            self.models[model] = version
            self.metrics.model_version.labels(model, version).set(1)

    def _queues(self) -> dict[str, Any]:
        with self.sessions() as session:
            pending, lag = queue_depth(session)
            outbox = outbox_depth(session)
        self.metrics.updates_pending.set(pending)
        self.metrics.update_lag.set(lag)
        for status, n in outbox.items():
            self.metrics.outbox_rows.labels(status).set(n)
        return {"updates_pending": pending, "oldest_update_age_s": round(lag, 3),
                "outbox_pending": outbox.get("pending", 0), "outbox_dead": outbox.get("dead", 0)}

    async def report(self) -> tuple[bool, dict[str, Any]]:
        now = time.monotonic()
        loops = {name: {"alive": s.alive and now - s.last_beat < STALL_AFTER, "failures": s.failures,
                        "last_error": s.last_error, "last_beat_s_ago": round(now - s.last_beat, 1)}
                 for name, s in self.loops.items()}
        body: dict[str, Any] = {"worker": self.worker, "loops": loops, "models": dict(self.models)}
        try:
            body["queues"] = await self._probe_queues()
            body["database"] = "ok"
        except Exception as exc:
            why = f"no answer within {PROBE_TIMEOUT:g} s" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            log.warning("health check: the database did not answer: %s", why[:500])
            body["database"] = "unreachable"
        ok = body["database"] == "ok" and all(loop["alive"] for loop in loops.values())
        body["ok"] = ok
        return ok, body

    async def _probe_queues(self) -> dict[str, Any]:
        running = asyncio.get_running_loop()
        if self._probe is None or self._probe.done() or self._probe.get_loop() is not running:
            self._probe = running.run_in_executor(self._executor, self._queues)
            self._probe.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, never "never retrieved"
        async with asyncio.timeout(PROBE_TIMEOUT):
            return await asyncio.shield(self._probe)

    def close(self) -> None:
        """Stop the probe thread (a probe still waiting on the database is left to finish)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def healthz(self, request: web.Request) -> web.Response:
        ok, body = await self.report()
        return web.json_response(body, status=200 if ok else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        await self.report()  # refreshes the queue gauges
        return web.Response(body=generate_latest(self.metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
