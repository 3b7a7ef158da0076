"""The unit of work: one transaction per update, or per job step.

While an update is handled, `current_update` holds its session and the errors the handlers
raised; the processor opens the transaction and commits or rolls it back as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.store.write_lock import WriteLock


@dataclass
class UpdateState:
    """What happened while one update was handled."""

    session: Session
    errors: list[BaseException] = field(default_factory=list)


current_update: ContextVar[UpdateState | None] = ContextVar("current_update", default=None)


def update_session() -> Session:
    """The session of the update being handled."""
    state = current_update.get()
    if state is None:
        raise RuntimeError("no update is being handled: use `async with services.unit()`")
    return state.session


@asynccontextmanager
async def unit_of_work(sessions: sessionmaker[Session], lock: WriteLock,
                       after_commit: Callable[[Session], Any]) -> AsyncIterator[Session]:
    """A transaction on the event loop, outside update handling (jobs, error notices)."""
    async with lock:
        with sessions() as session:
            with session.begin():
                yield session
            after_commit(session)
