"""The outbox sender: delivers queued messages within Telegram's limits, for the whole fleet.

Limits (config [limits]): about one message a second per chat, 30 a second overall, 20 a minute
per group. They live in the database (bot/store/outbox_queue.py), so N senders together keep
them: a chat's next message waits for its pace, and every send takes a fleet-wide slot. Failures go by
the one retry policy (bot/store/retry.py, `OUTBOX_POLICY`): a 429 pauses the chat for `retry_after`, and
it and network errors or 5xx are retried uncounted for a day from the row's creation, then dead-lettered;
a message that can never be sent (400, 403, 413) is dead-lettered at once; other errors count, ten at
most. A dead letter never holds up the chat's later messages. `ChatMigrated` moves the chat's messages
to the new chat id.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import (
    ChatMigrated,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot.config import LimitsConfig
from bot.kernel.followers import store_message
from bot.kernel.outbox import FORGETME_PURPOSE, inbox_of
from bot.kernel.registry import Undeliverable
from bot.kernel.waiting import IdlePolls, in_daemon_thread, wait_event
from bot.runtime.bot_api import (
    BotApiCall,
    NotSendable,
    bot_api_call,
    never_sendable,
    passing_failure,
    retry_after_seconds,
)
from bot.runtime.health import Metrics
from bot.store.db import in_process
from bot.store.failures import is_transient
from bot.store.models import OutboxMessage, utcnow
from bot.store.outbox_queue import (
    OUTBOX,
    claim_outbox,
    delete_sent,
    has_pending,
    mark_sent,
    move_chat,
    pace_chat,
    reserve_slots,
)
from bot.store.retry import FAILED, OUTBOX_POLICY, PASSING

log = logging.getLogger(__name__)
# We call the Bot API through do_api_request on purpose: raw JSON in and out, no re-encoding.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

# Slots are spaced a little wider than 1/limit, so jitter between processes (a send that leaves a
# little after its slot) never packs more than `limit` sends into a second.
SAFETY = 1.1
IDLE_CAP = 2.0  # seconds an idle sender waits at most between polls (a local commit wakes it at once)
RECORD_PATIENCE = 60.0  # seconds a sent message's record waits for the database to come back


@dataclass(frozen=True)
class Sent:
    """What the sender keeps of the message a Bot API call returned, read from the JSON as it came (no PTB
    `Message` object is built for these few fields)."""

    message_id: int
    chat_id: int
    chat_type: str
    text: str | None
    caption: str | None

    @staticmethod
    def of(result: Any) -> Sent | None:
        """The sent message of a call's result; None when the call returned something else (True, a list)."""
        if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
            return None
        chat = result.get("chat")
        if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
            return None
        text, caption = result.get("text"), result.get("caption")
        return Sent(int(result["message_id"]), int(chat["id"]), str(chat.get("type", "")),
                    text if isinstance(text, str) else None, caption if isinstance(caption, str) else None)


class OutboxSender:
    """Background task: `run()` until cancelled; `wake()` (from any thread) when something was queued.

    The sender runs in a thread of its own, with its own event loop and Bot connection, so a busy
    processor (handlers run on the main loop) never holds messages back; it sends one message at
    a time, so a worker killed in the middle leaves at most one message sent but not marked.
    """

    def __init__(self, bot_factory: Callable[[], Bot], sessions: sessionmaker[Session], limits: LimitsConfig,
                 worker: str, lease: timedelta, metrics: Metrics, heartbeat: Callable[[], None] = lambda: None,
                 undeliverable: Sequence[Undeliverable] = ()) -> None:
        self.bot_factory = bot_factory
        self.undeliverable = tuple(undeliverable)  # features' reactions to a dead-lettered row
        self.bot: Bot | None = None
        self.sessions = sessions
        self.worker = worker
        self.lease = lease
        self.metrics = metrics
        self.heartbeat = heartbeat
        self.gap = SAFETY / limits.send_per_second
        self.chat_gap = 1.0 / limits.send_per_chat_per_second
        self.group_gap = max(self.chat_gap, 60.0 / limits.send_per_group_per_minute)
        self.batch = max(1, min(50, int(limits.send_per_second // 2)))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop = threading.Event()
        self._local_pace = in_process(sessions)
        self._next_slot = 0.0

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with suppress(RuntimeError):  # the sender's loop has just ended
                loop.call_soon_threadsafe(event.set)

    def _transaction(self, work: Callable[[Session], Any]) -> Any:
        with self.sessions() as session, session.begin():
            return work(session)

    async def run(self) -> None:
        """Run the sending thread until cancelled; its errors come out here (for the supervisor)."""
        self._stop.clear()
        # a thread of its own, never one of the loop's default executor: with many creators their senders
        # would take every executor thread for good and starve the database calls of the whole process
        thread = asyncio.ensure_future(in_daemon_thread(lambda: asyncio.run(self._main()), name="sender"))
        try:
            await asyncio.shield(thread)
        finally:
            if not thread.done():
                self._stop.set()
                self.wake()
                with suppress(BaseException):
                    await asyncio.wait_for(asyncio.shield(thread), 10)

    async def _main(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        bot = self.bot_factory()
        try:
            await self._connect(bot)
            async with bot:
                self.bot = bot
                self._transaction(lambda s: OUTBOX.release(s, self.worker))
                idle = IdlePolls(0.25, IDLE_CAP)
                while not self._stop.is_set():
                    self._wake.clear()
                    self.heartbeat()
                    claimed = await self.send_due()
                    if claimed:
                        idle.next(True, True)
                        if claimed < self.batch and not self._wake.is_set():
                            # every chat that could be sent to was: nothing to claim before a wake (a new
                            # row here) or the short poll (a chat's pace, another worker's rows)
                            await wait_event(self._wake, idle.base)
                    else:
                        await wait_event(self._wake, idle.next(False, self._transaction(has_pending)))
        finally:
            self._loop = self._wake = None
            with suppress(Exception):
                self._transaction(lambda s: OUTBOX.release(s, self.worker))

    async def _connect(self, bot: Bot) -> None:
        """Initialise the connection (getMe), riding out network trouble until told to stop."""
        delay = 0.5
        while not self._stop.is_set():
            try:
                await bot.initialize()
                return
            except NetworkError as exc:
                log.warning("sender cannot reach the Bot API yet (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _claim(self) -> list[OutboxMessage]:
        with self.sessions() as session, session.begin():
            return claim_outbox(session, self.worker, self.lease, self.batch)

    async def send_due(self) -> int:
        """Claim what may be sent now and send it, one message at a time; returns how many were claimed.

        Each message takes its fleet-wide slot just before it goes (reserving a batch ahead would
        queue one sender's late messages behind every other sender's reservations).
        """
        claimed_at = time.monotonic()
        rows = self._claim()
        # Another sender may claim a row once our lease runs out: send only well inside it.
        deadline = claimed_at + self.lease.total_seconds() * 0.5
        for i, row in enumerate(rows):
            if self._stop.is_set() or time.monotonic() > deadline:
                self._release([r.id for r in rows[i:]])
                break
            wait = self._reserve(1) - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._send(row)
        return len(rows)

    def _release(self, ids: list[int]) -> None:
        with self.sessions() as session, session.begin():
            OUTBOX.release(session, self.worker, ids)

    def _reserve(self, count: int) -> float:
        now = time.time()
        if self._local_pace:  # SQLite serves one process: its pace needs no database round trip
            first = max(self._next_slot, now)
            self._next_slot = first + count * self.gap
            return first
        with self.sessions() as session, session.begin():
            return reserve_slots(session, count, self.gap, now)

    def _pace(self, chat_id: int) -> float:
        return self.group_gap if chat_id < 0 else self.chat_gap

    async def _send(self, row: OutboxMessage) -> None:
        try:
            call = bot_api_call(row)
        except (NotSendable, KeyError) as exc:
            log.error("outbox row %s cannot be sent: %s", row.id, exc)
            await self._dead(row, f"not sendable: {exc}")
            return
        bot = self.bot
        assert bot is not None
        # Right before it goes: the row must still exist and still be ours (a /forgetme may have deleted it, or
        # our lease ran out and another sender took it); renewing the lease checks both in one statement. On
        # SQLite (one process: nobody else takes our leases) a read checks it without taking the write lock.
        if not self._transaction(lambda s: OUTBOX.holds(s, self.worker, row.id) if self._local_pace
                                 else OUTBOX.renew(s, self.worker, [row.id], self.lease)):
            log.info("outbox row %s is gone or another sender's now; not sending it", row.id)
            return
        renewing = None if self._local_pace else asyncio.create_task(self._keep_lease(row.id))
        try:
            result = await bot.do_api_request(call.method, api_kwargs=call.kwargs)
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            self._transaction(lambda s: pace_chat(s, row.chat_id, time.time() + seconds))
            await self._failed(row, PASSING, f"429: retry after {seconds:g} s", seconds)
            return
        except ChatMigrated as exc:
            new_chat = int(exc.new_chat_id)
            log.warning("chat %s moved to %s; its messages follow", row.chat_id, new_chat)
            self._transaction(lambda s: move_chat(s, row.chat_id, new_chat))
            return
        except TelegramError as exc:
            error = str(exc)
            if call.method.startswith("edit") and "not modified" in error:
                self._transaction(lambda s: self._mark_sent(s, row, None, call))
                return
            if never_sendable(exc):
                log.error("outbox %s to %s failed for good: %s", call.method, row.chat_id, error)
                await self._dead(row, error)
                return
            await self._failed(row, PASSING if passing_failure(exc) else FAILED, error)
            return
        finally:
            if renewing is not None:
                renewing.cancel()
        message = Sent.of(result)
        await self._record(lambda s: self._mark_sent(s, row, message, call))
        self.metrics.outbox_sent.inc()

    async def _record(self, work: Callable[[Session], Any]) -> None:
        """Record what Telegram already did, riding out a database that is away for a while: the
        message went out, and forgetting that would send it again once the lease runs out."""
        delay, deadline = 0.2, time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                self._transaction(work)
                return
            except SQLAlchemyError as exc:
                if not is_transient(exc) or time.monotonic() > deadline or self._stop.is_set():
                    raise
                log.warning("cannot record a sent message yet (%s); retrying in %.1f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _keep_lease(self, row_id: int) -> None:
        """Renew the row's lease while a slow send (a large upload) runs, so nobody sends it twice."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            with suppress(Exception):  # the database is away: marking it sent will find out
                await asyncio.to_thread(self._transaction, lambda s: OUTBOX.renew(s, self.worker, [row_id], self.lease))

    def _lost(self, row: OutboxMessage, change: str) -> None:
        log.warning("outbox row %s was taken over by another sender; not %s here", row.id, change)

    async def _failed(self, row: OutboxMessage, kind: str, error: str, retry_after: float | None = None) -> None:
        """A send that failed, by the outbox's retry policy: again later, or a dead letter with the reason."""
        verdict = OUTBOX_POLICY.after(kind, row.attempts, utcnow() - row.created_at, retry_after)
        if verdict.dead:
            log.error("outbox row %s to %s dead-lettered (%s): %s", row.id, row.chat_id, verdict.why, error)
            await self._dead(row, f"{verdict.why}: {error}", counts=verdict.counts)
            return
        if self._transaction(lambda s: OUTBOX.retry(s, row.id, self.worker, verdict.delay, error,
                                                   counts=verdict.counts)) is None:
            self._lost(row, "retried")

    async def _dead(self, row: OutboxMessage, error: str, counts: bool = True) -> None:
        self._transaction(lambda s: self._dead_letter(s, row, error, counts))
        self.metrics.outbox_dead.inc()

    def _dead_letter(self, session: Session, row: OutboxMessage, error: str, counts: bool = True) -> None:
        if not OUTBOX.dead(session, row.id, self.worker, error, counts=counts):
            self._lost(row, "dead-lettered")
            return
        for react in self.undeliverable:  # whoever waited on it hears the truth
            react(session, row, error)

    def _mark_sent(self, session: Session, row: OutboxMessage, message: Sent | None, call: BotApiCall) -> None:
        if row.purpose == FORGETME_PURPOSE:  # nothing of a forgotten follower stays, not even this
            delete_sent(session, row.id)
            return
        if not mark_sent(session, row.id, self.worker, message.message_id if message else None):
            self._lost(row, "marked sent")  # it went out: the other sender's copy is the one duplicate
            return
        if call.sends_message:
            pace_chat(session, row.chat_id, time.time() + self._pace(row.chat_id))
        if message is not None and call.sends_message and message.chat_type == "private":
            store_message(session, user_id=message.chat_id, chat_id=message.chat_id, message_id=message.message_id,
                          direction="out", content_type="text" if message.text else "file",
                          text=message.text or message.caption, created_at=utcnow(), inbox=inbox_of(row.params),
                          business_connection_id=(row.params or {}).get("business_connection_id"))
