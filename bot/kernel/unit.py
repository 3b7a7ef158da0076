"""The unit of work: one transaction per update, or per job step.

While an update is handled, `current_update` holds its session and the errors the handlers
raised; the processor opens the transaction and commits or rolls it back as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.write_lock import WriteLock


@dataclass
class UpdateState:
    """What happened while one update was handled."""

    session: Session
    raw_id: int | None = None  # the stored update's row (RawUpdate.id)
    errors: list[BaseException] = field(default_factory=list)


current_update: ContextVar[UpdateState | None] = ContextVar("current_update", default=None)


def update_session() -> Session:
    """The session of the update being handled."""
    state = current_update.get()
    if state is None:
        raise RuntimeError("no update is being handled: use `async with services.unit()`")
    return state.session


def current_raw_id() -> int | None:
    """The row of the stored update being handled (None outside update handling)."""
    state = current_update.get()
    return None if state is None else state.raw_id


@asynccontextmanager
async def unit_of_work(sessions: sessionmaker[Session], lock: WriteLock) -> AsyncIterator[Session]:
    """A transaction on the event loop, outside update handling (jobs, error notices)."""
    async with lock:
        with sessions() as session, session.begin():
            yield session
