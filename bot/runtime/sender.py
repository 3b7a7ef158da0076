"""The outbox sender: delivers queued messages within Telegram's limits, for the whole fleet.

Limits (config [limits]): about one message a second per chat, 30 a second overall, 20 a minute
per group. They live in the database (bot/store/outbox_queue.py), so N senders together keep
them: a chat's next message waits for its pace, and every send takes a fleet-wide slot. A 429
pauses the chat for `retry_after`; network errors back off and are retried forever; a message
that can never be sent (400, 403, 413) is dead-lettered and the chat's later messages go on;
`ChatMigrated` moves the chat's messages to the new chat id.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot.config import LimitsConfig
from bot.runtime.bot_api import BotApiCall, NotSendable, bot_api_call
from bot.runtime.health import Metrics
from bot.store.models import DirectMessage, OutboxMessage, utcnow
from bot.store.outbox_queue import (
    claim_outbox,
    dead_letter,
    mark_sent,
    move_chat,
    pace_chat,
    release_outbox,
    reserve_slots,
    retry_later,
)
from bot.waiting import wait_event

log = logging.getLogger(__name__)
# We call the Bot API through do_api_request on purpose: raw JSON in and out, no re-encoding.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

# Slots are spaced a little wider than 1/limit and a send that is late for its slot goes back to
# the queue, so clock jitter between processes never packs more than `limit` sends into a second.
SAFETY = 1.15
LATE = 0.1


def _backoff(attempts: int) -> float:
    return float(min(300, 2 ** min(attempts, 9)))


def never_sendable(exc: TelegramError) -> bool:
    """400 and 403 (and 413, which PTB reports as a NetworkError) will fail the same way again."""
    if isinstance(exc, BadRequest | Forbidden):
        return True
    text = str(exc).lower()
    return isinstance(exc, NetworkError) and ("413" in text or "too large" in text)


class OutboxSender:
    """Background task: `run()` until cancelled; `wake()` when something was queued."""

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], limits: LimitsConfig, worker: str,
                 lease: timedelta, metrics: Metrics, heartbeat: Callable[[], None] = lambda: None) -> None:
        self.bot = bot
        self.sessions = sessions
        self.worker = worker
        self.lease = lease
        self.metrics = metrics
        self.heartbeat = heartbeat
        self.gap = SAFETY / limits.send_per_second
        self.chat_gap = 1.0 / limits.send_per_chat_per_second
        self.group_gap = max(self.chat_gap, 60.0 / limits.send_per_group_per_minute)
        self.batch = max(1, min(50, int(limits.send_per_second // 2)))
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def _transaction(self, work: Callable[[Session], Any]) -> Any:
        with self.sessions() as session, session.begin():
            return work(session)

    async def run(self) -> None:
        await asyncio.to_thread(self._transaction, lambda s: release_outbox(s, self.worker))
        try:
            while True:
                self._wake.clear()
                self.heartbeat()
                sent = await self.send_due()
                if not sent:
                    await wait_event(self._wake, 0.25)
        finally:
            try:
                await asyncio.shield(asyncio.to_thread(
                    self._transaction, lambda s: release_outbox(s, self.worker)))
            except BaseException:
                pass

    def _claim(self) -> tuple[list[OutboxMessage], float]:
        def work(session: Session) -> tuple[list[OutboxMessage], float]:
            rows = claim_outbox(session, self.worker, self.lease, self.batch)
            return rows, reserve_slots(session, len(rows), self.gap, time.time())
        result: tuple[list[OutboxMessage], float] = self._transaction(work)
        return result

    async def send_due(self) -> int:
        """Claim what may be sent now and send it in its slots; returns how many were claimed."""
        rows, first_slot = await asyncio.to_thread(self._claim)
        # The rows are the heads of different chats: they go out side by side, each in its slot,
        # so a busy event loop (the processor's handlers) delays them together, not one by one.
        await asyncio.gather(*(self._send_in_slot(row, first_slot + i * self.gap) for i, row in enumerate(rows)))
        return len(rows)

    async def _send_in_slot(self, row: OutboxMessage, slot: float) -> None:
        wait = slot - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
            wait = slot - time.time()
        if wait < -LATE:  # woken too late for the slot: sending now could crowd the next ones
            slot = await asyncio.to_thread(self._reserve, 1)
            if slot > time.time():
                await asyncio.sleep(slot - time.time())
        await self._send(row)

    def _reserve(self, count: int) -> float:
        with self.sessions() as session, session.begin():
            return reserve_slots(session, count, self.gap, time.time())

    def _pace(self, chat_id: int) -> float:
        return self.group_gap if chat_id < 0 else self.chat_gap

    async def _send(self, row: OutboxMessage) -> None:
        try:
            call = bot_api_call(row)
        except (NotSendable, KeyError) as exc:
            log.error("outbox row %s cannot be sent: %s", row.id, exc)
            await self._dead(row, f"not sendable: {exc}")
            return
        try:
            result = await self.bot.do_api_request(call.method, api_kwargs=call.kwargs)
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if isinstance(retry, timedelta) else float(retry)
            await asyncio.to_thread(self._transaction, lambda s: self._pause(s, row, seconds))
            return
        except ChatMigrated as exc:
            new_chat = int(exc.new_chat_id)
            log.warning("chat %s moved to %s; its messages follow", row.chat_id, new_chat)
            await asyncio.to_thread(self._transaction, lambda s: move_chat(s, row.chat_id, new_chat))
            return
        except TelegramError as exc:
            error = str(exc)
            if call.method.startswith("edit") and "not modified" in error:
                await asyncio.to_thread(self._transaction, lambda s: self._mark_sent(s, row, None, call))
                return
            if never_sendable(exc):
                log.error("outbox %s to %s failed for good: %s", call.method, row.chat_id, error)
                await self._dead(row, error)
                return
            await asyncio.to_thread(self._transaction, lambda s: retry_later(
                s, row.id, _backoff(row.attempts), error))
            return
        message = Message.de_json(result, self.bot) if isinstance(result, dict) else None
        await asyncio.to_thread(self._transaction, lambda s: self._mark_sent(s, row, message, call))
        self.metrics.outbox_sent.inc()

    def _pause(self, session: Session, row: OutboxMessage, seconds: float) -> None:
        pace_chat(session, row.chat_id, time.time() + seconds)
        retry_later(session, row.id, seconds, f"429: retry after {seconds:g} s")

    async def _dead(self, row: OutboxMessage, error: str) -> None:
        await asyncio.to_thread(self._transaction, lambda s: dead_letter(s, row.id, error))
        self.metrics.outbox_dead.inc()

    def _mark_sent(self, session: Session, row: OutboxMessage, message: Message | None, call: BotApiCall) -> None:
        mark_sent(session, row.id, message.message_id if message else None)
        if call.sends_message:
            pace_chat(session, row.chat_id, time.time() + self._pace(row.chat_id))
        if message is not None and call.sends_message and message.chat.type == "private":
            session.add(DirectMessage(
                user_id=message.chat.id, chat_id=message.chat.id, message_id=message.message_id,
                direction="out", content_type="text" if message.text else "file",
                text=message.text or message.caption, created_at=utcnow(),
            ))
