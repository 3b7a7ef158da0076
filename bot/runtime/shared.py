"""What the creators served by one process share: the database engines, the models, the metrics and the
write lock. Made once per process (`Shared.create`); every creator's runtime (bot/runtime/worker.py) uses it."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.config import Settings
from bot.kernel.model_factory import model_factory
from bot.kernel.write_lock import WriteLock
from bot.runtime.health import MetricFamilies
from bot.store import creators
from bot.store.db import make_engine, upgrade
from bot.store.scope import fleet_sessions
from nlp.model_factory import EncoderFactory, ModelFactory


def worker_id() -> str:
    return f"{socket.gethostname()[:16]}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class Shared:
    engine: Engine
    health_engine: Engine  # the health probe's own pool: a burst of /healthz never takes the handlers' connections
    models: ModelFactory
    metrics: MetricFamilies = field(default_factory=MetricFamilies)
    db_lock: WriteLock = field(default_factory=WriteLock)
    worker: str = field(default_factory=worker_id)

    @classmethod
    def create(cls, settings: Settings, *, migrate: bool = True, encoder_factory: EncoderFactory | None = None,
               models: ModelFactory | None = None) -> Shared:
        if migrate:
            upgrade(settings.database.url)
        pool = max(5, min(40, 2 * len(settings.creators)))  # each creator's loops reach the database from threads
        return cls(engine=make_engine(settings.database.url, settings.database, pool_size=pool, max_overflow=10),
                   health_engine=make_engine(settings.database.url, settings.database, pool_size=1),
                   models=models or model_factory(settings, encoder_factory))

    def creator_id(self, settings: Settings) -> int:
        """The row of the creator `settings` is for (made, or woken from the placeholder, if new)."""
        with fleet_sessions(self.engine)() as session, session.begin():
            return creators.ensure(session, settings.creators[0] if settings.creators else None,
                                   settings.creator_name)

    def close(self) -> None:
        self.engine.dispose()
        self.health_engine.dispose()


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (what MALLOC_ARENA_MAX does) before the threads start: every creator's sender,
    the model threads and the database threads would otherwise each grow an arena of their own, and the
    process's resident memory with them (about 30 MB more per creator, measured: docs/benchmarks.md). A no-op
    off glibc or when MALLOC_ARENA_MAX is set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False
