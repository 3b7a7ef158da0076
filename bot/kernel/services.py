"""The dependency bag handlers reach through `BotContext.services` (made once, at start-up)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.kernel.chats import ForeignChats
from bot.kernel.limits import FollowerLimiter
from bot.kernel.registry import Registry
from bot.kernel.unit import unit_of_work, update_session
from bot.kernel.write_lock import WriteLock
from nlp.encoder import Encoder

if TYPE_CHECKING:
    from nlp.model_factory import ModelFactory


class LiveFaqModel(Protocol):
    """What rooms other than the FAQ may read of its live model (`bot.faq.model.FaqModel`)."""

    version: str | None
    training: threading.Lock  # held while a new version trains

    def live_encoder(self) -> Encoder | None:
        """The live version's encoder (None before the first version)."""


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    file_settings: Settings | None = None  # the config file's settings; `settings` adds those changed in the chat
    db_lock: WriteLock = field(default_factory=WriteLock)
    wake_sender: Callable[[], None] = lambda: None  # a hint that outbox rows were committed
    faq_model: LiveFaqModel | None = None  # set by the FAQ feature (bot/faq)
    registry: Registry = field(default_factory=Registry)  # what the features registered (bot/app.py)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    follower_limits: FollowerLimiter = field(init=False)
    foreign_chats: ForeignChats = field(default_factory=ForeignChats)
    models: ModelFactory | None = None  # the process's models (set by the runtime before on_build)

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
        return update_session()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Session]:
        """A transaction on the event loop, outside update handling (jobs, error notices)."""
        async with unit_of_work(self.sessions, self.db_lock) as session:
            yield session
        self.wake_sender()  # a hint only: the sender finds the rows in the database
