"""The dependency bag handlers reach through `BotContext.services`, and units of work.

SQLite allows one writer: a transaction opened on the event loop holds `db_lock`, so no two
loop-side transactions wait on each other while the loop is blocked. Background threads
(poller, sender) open their own short transactions and simply wait for the lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.services.chats import ForeignChats
from bot.services.limits import FollowerLimiter

if TYPE_CHECKING:
    from bot.services.faq_model import FaqModel


@dataclass
class UpdateState:
    """What happened while one update was handled."""

    session: Session
    errors: list[BaseException] = field(default_factory=list)


current_update: ContextVar[UpdateState | None] = ContextVar("current_update", default=None)


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    db_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake_sender: Callable[[], None] = lambda: None
    hand_over: Callable[[list[Any]], None] = lambda rows: None  # committed outbox rows, to send at once
    faq_model: FaqModel | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    follower_limits: FollowerLimiter = field(init=False)
    foreign_chats: ForeignChats = field(default_factory=ForeignChats)

    def __post_init__(self) -> None:
        self.follower_limits = FollowerLimiter(self.settings.limits.follower_messages_per_minute)

    def spawn(self, coro: Any) -> bool:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return True

    @property
    def session(self) -> Session:
        """The session of the update being handled (one transaction per update)."""
        state = current_update.get()
        if state is None:
            raise RuntimeError("no update is being handled: use `async with services.unit()`")
        return state.session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Session]:
        """A transaction on the event loop, outside update handling (jobs, error notices)."""
        from bot.services.outbox import OUTBOX_NEW

        async with self.db_lock:
            with self.sessions() as session:
                with session.begin():
                    yield session
                self.hand_over(session.info.get(OUTBOX_NEW, []))
        self.wake_sender()
