"""What a feature hands the runtime: commands, handlers, buttons, jobs and reactions.

Each feature package (`bot/faq`, `bot/topics`, ...) has a `register(reg)` that fills a `Registry`;
`bot/app.py` lists the features and the runtime (`bot/runtime/`) wires whatever was registered. The
runtime imports no feature, and no feature imports another: what they share lives in `bot/kernel`.

Handlers are registered as factories of `Filters`, because the filters (who is a creator, which chat
is the channel) come from the live settings, which exist only once the runtime starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from telegram import Bot, Update
from telegram.ext import BaseHandler
from telegram.ext.filters import BaseFilter

from bot.config import Settings
from bot.store.models import OutboxMessage, Reminder

if TYPE_CHECKING:
    from aiohttp import web

    from bot.kernel.context import BotContext
    from bot.kernel.messages import IncomingMessage
    from bot.kernel.services import Services
    from nlp.model_factory import ModelFactory

Handler = Callable[[Update, "BotContext"], Coroutine[Any, Any, None]]
JobCallback = Callable[["BotContext"], Coroutine[Any, Any, None]]
AnyHandler = BaseHandler[Any, Any, Any]


@dataclass(frozen=True)
class Filters:
    """The filters a feature's handlers combine (made by the runtime from the live settings)."""

    creators: BaseFilter  # messages from one of `[creator] user_ids`
    private: BaseFilter
    new_message: BaseFilter  # a new message, never an edit
    creator_chats: BaseFilter  # the creator's private chat or the inbox group
    inbox: BaseFilter
    channel: BaseFilter  # posts of the configured channel
    discussion_group: BaseFilter  # messages in the channel's discussion group (not the inbox)


@dataclass(frozen=True)
class Job:
    """A scheduled job: every `every` seconds (first after `first`), or daily at `daily(settings)`."""

    name: str
    callback: JobCallback
    every: float | None = None
    first: float | None = None
    daily: Callable[[Settings], dt.time] | None = None
    at_start: bool = False  # a daily job that also runs once right after start-up
    leader_only: bool = True  # run on the worker holding the scheduler role only
    enabled: Callable[[Settings], bool] = lambda settings: True


@dataclass(frozen=True)
class Prefetch:
    """Model work for a batch of stored updates, done before any of their transactions opens."""

    start: Callable[[Services, Sequence[dict[str, Any]]], None]  # begin the batch's model call
    ready: Callable[[Services, dict[str, Any]], Awaitable[None]]  # wait for one update's part of it


@dataclass(frozen=True)
class Loop:
    """A background loop the runtime supervises (restarted with back-off when it fails)."""

    name: str
    make: Callable[[Services, LoopEnv], Callable[[], Awaitable[None]]]


@dataclass(frozen=True)
class LoopEnv:
    """What a background loop may ask of the runtime."""

    is_leader: Callable[[], bool]
    beat: Callable[[], None]  # "still alive", for /healthz


ReminderSender = Callable[["Services", Session, Reminder], None]
# A follower's message from any inbox, handed to whoever answers questions (bot/kernel/inboxes.py)
Answerer = Callable[["Services", Session, "IncomingMessage"], Awaitable[None]]
Undeliverable = Callable[[Session, OutboxMessage, str], None]


@dataclass
class Registry:
    creator_commands: dict[str, Handler] = field(default_factory=dict)
    private_commands: dict[str, Handler] = field(default_factory=dict)  # /start, /help, /forgetme: anyone, in private
    creator_start: Handler | None = None  # /start from a creator (the others get `private_commands["start"]`)
    handlers: list[Callable[[Filters], AnyHandler]] = field(default_factory=list)
    callbacks: dict[str, Handler] = field(default_factory=dict)  # callback-data prefix -> handler
    fallbacks: list[Callable[[Filters], AnyHandler]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    prefetch: list[Prefetch] = field(default_factory=list)
    undeliverable: list[Undeliverable] = field(default_factory=list)
    reminder_kinds: dict[str, ReminderSender] = field(default_factory=dict)
    on_build: list[Callable[[Services, ModelFactory], None]] = field(default_factory=list)
    # before on_start, in a thread: a feature's one-time model exports, made while no model is loaded
    prepare_models: list[Callable[[ModelFactory], object]] = field(default_factory=list)
    on_start: list[Callable[[Services, bool], Awaitable[None]]] = field(default_factory=list)
    on_bot_ready: list[Callable[[Bot, Settings], Awaitable[None]]] = field(default_factory=list)
    model_versions: dict[str, Callable[[Services], str | None]] = field(default_factory=dict)
    after_forget: list[Callable[[Services, dict[str, int]], None]] = field(default_factory=list)
    settings_changed: list[Callable[[Session, Settings], None]] = field(default_factory=list)
    web_apps: list[Callable[[Services], dict[str, web.Application]]] = field(default_factory=list)
    answerer: Answerer | None = None  # the FAQ: answers (or drafts, or hands off) a question from any inbox
    # privacy: forget one person everywhere (the creator's "forget this person"); returns rows removed by kind
    forget_person: Callable[[Services, Session, int], Awaitable[dict[str, int]]] | None = None

    def command(self, name: str, handler: Handler) -> None:
        """A creator command (others who try it are told it is the creator's)."""
        self._unique(name, self.creator_commands)
        self.creator_commands[name] = handler

    def private_command(self, name: str, handler: Handler) -> None:
        self._unique(name, self.private_commands)
        self.private_commands[name] = handler

    def callback(self, prefix: str, handler: Handler) -> None:
        self._unique(prefix, self.callbacks)
        self.callbacks[prefix] = handler

    def handler(self, make: Callable[[Filters], AnyHandler]) -> None:
        self.handlers.append(make)

    def fallback(self, make: Callable[[Filters], AnyHandler]) -> None:
        """A handler tried after every other one (in registration order)."""
        self.fallbacks.append(make)

    def job(self, job: Job) -> None:
        if any(j.name == job.name for j in self.jobs):
            raise ValueError(f"two jobs named {job.name!r}")
        self.jobs.append(job)

    def reminder_kind(self, kind: str, send: ReminderSender) -> None:
        """How a due reminder of `kind` is sent (plain reminders need none)."""
        self._unique(kind, self.reminder_kinds)
        self.reminder_kinds[kind] = send

    @staticmethod
    def _unique(key: str, taken: dict[str, Any]) -> None:
        if key in taken:
            raise ValueError(f"{key!r} is registered twice")
