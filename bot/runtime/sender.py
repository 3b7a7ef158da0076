"""The outbox sender: delivers queued Bot API calls within Telegram's limits and retries them.

Limits (config [limits]): about one message a second per chat, 30 a second overall, 20 a minute
per group. A 429 pauses that chat for `retry_after`; network errors back off exponentially and are
retried forever; only errors that cannot succeed later (chat not found, bot blocked, bad request)
mark a message failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from bot.config import LimitsConfig
from bot.runtime.bot_api import BotApiCall, NotSendable, bot_api_call
from bot.services.faq import undeliverable
from bot.services.outbox import FORGETME_PURPOSE
from bot.store.models import DirectMessage, OutboxMessage, utcnow
from bot.waiting import wait_event

log = logging.getLogger(__name__)
# We call the Bot API through do_api_request on purpose: raw JSON in and out, no re-encoding.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)


class SendLimiter:
    """Decides how long to wait before the next send to a chat (pure; time passed in)."""

    def __init__(self, limits: LimitsConfig) -> None:
        self.per_chat_gap = 1.0 / limits.send_per_chat_per_second
        self.global_gap = 1.0 / limits.send_per_second
        self.group_per_minute = limits.send_per_group_per_minute
        self._last_chat: dict[int, float] = {}
        self._last_any = -1e9
        self._group_sends: dict[int, deque[float]] = {}
        self._paused_until: dict[int, float] = {}
        self.max_chats = 10_000  # per-chat state is pruned beyond this many chats

    def wait_for(self, chat_id: int, now: float) -> float:
        waits = [
            self._last_chat.get(chat_id, -1e9) + self.per_chat_gap - now,
            self._last_any + self.global_gap - now,
            self._paused_until.get(chat_id, 0.0) - now,
        ]
        if chat_id < 0:  # groups and channels
            sent = self._group_sends.get(chat_id)
            if sent and len(sent) >= self.group_per_minute:
                waits.append(sent[0] + 60.0 - now)
        return max(0.0, *waits)

    def sent(self, chat_id: int, now: float) -> None:
        if len(self._last_chat) >= self.max_chats:
            self.prune(now)
        self._last_chat[chat_id] = now
        self._last_any = now
        if chat_id < 0:
            sent = self._group_sends.setdefault(chat_id, deque())
            sent.append(now)
            while sent and sent[0] <= now - 60.0:
                sent.popleft()

    def pause(self, chat_id: int, seconds: float, now: float) -> None:
        self._paused_until[chat_id] = now + seconds

    def prune(self, now: float) -> None:
        """Forget chats that no limit applies to any more (nothing sent in the last minute, no pause)."""
        idle = now - max(60.0, self.per_chat_gap)
        self._last_chat = {c: t for c, t in self._last_chat.items() if t > idle}
        self._group_sends = {c: d for c, d in self._group_sends.items() if d and d[-1] > now - 60.0}
        self._paused_until = {c: t for c, t in self._paused_until.items() if t > now}

    def __len__(self) -> int:
        return len(self._last_chat) + len(self._group_sends) + len(self._paused_until)


def _backoff(attempts: int) -> float:
    return float(min(300, 2 ** min(attempts, 9)))


class OutboxSender:
    """Background task: `run()` until cancelled; `wake()` when something was queued."""

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], limits: LimitsConfig) -> None:
        self.bot = bot
        self.sessions = sessions
        self.limiter = SendLimiter(limits)
        self._wake = asyncio.Event()
        self._fresh: list[OutboxMessage] = []  # committed rows handed over in memory
        self._done: OrderedDict[int, None] = OrderedDict()  # ids sent (or failed for good) here
        self._deferred_chats: set[int] = set()  # chats with an older row still waiting in the database

    def wake(self) -> None:
        self._wake.set()

    def hand_over(self, rows: list[OutboxMessage]) -> None:
        """Rows just committed: send them without reading them back (the database scan is the fallback)."""
        self._fresh.extend(rows)
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                idle = await self.send_due()
            except Exception:
                log.exception("outbox sender failed; retrying in 1 s")
                idle = 1.0
            await wait_event(self._wake, idle)

    def _due(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(
                select(OutboxMessage).where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.id).limit(200)
            ))

    async def send_due(self) -> float:
        """Send what may be sent now; return how long to sleep before looking again."""
        if self._fresh:
            rows = sorted((r for r in self._fresh if r.id not in self._done), key=lambda r: r.id)
            self._fresh.clear()
            blocked = set(self._deferred_chats)  # an older message of theirs waits: the scan keeps order
            next_look = 0.5 if any(r.chat_id in blocked for r in rows) else 5.0
        else:
            rows = await asyncio.to_thread(self._due)
            self._deferred_chats.clear()
            blocked = set()  # chats whose earlier message is still waiting: keep order
            next_look = 5.0
        if not rows:
            return next_look
        now_dt = utcnow()
        for row in rows:
            if row.chat_id in blocked:
                self._deferred_chats.add(row.chat_id)
                continue
            if row.next_attempt_at > now_dt:
                blocked.add(row.chat_id)
                self._deferred_chats.add(row.chat_id)
                next_look = min(next_look, (row.next_attempt_at - now_dt).total_seconds())
                continue
            wait = self.limiter.wait_for(row.chat_id, time.monotonic())
            if wait > 0:
                if wait > 0.5:
                    blocked.add(row.chat_id)
                    self._deferred_chats.add(row.chat_id)
                    next_look = min(next_look, wait)
                    continue
                await asyncio.sleep(wait)
            ok = await self._send(row)
            if ok:
                self._done[row.id] = None
                if len(self._done) > 10_000:
                    self._done.popitem(last=False)
            else:
                blocked.add(row.chat_id)
                self._deferred_chats.add(row.chat_id)
                next_look = min(next_look, 0.5)
        return max(0.05, next_look)

    async def _send(self, row: OutboxMessage) -> bool:
        try:
            call = bot_api_call(row)
        except (NotSendable, KeyError) as exc:
            log.error("outbox row %s cannot be sent: %s", row.id, exc)
            await asyncio.to_thread(self._fail, row.id, f"not sendable: {exc}")
            return True
        self.limiter.sent(row.chat_id, time.monotonic())
        try:
            result = await self.bot.do_api_request(call.method, api_kwargs=call.kwargs)
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if isinstance(retry, timedelta) else float(retry)
            self.limiter.pause(row.chat_id, seconds, time.monotonic())
            await asyncio.to_thread(self._retry_later, row.id, seconds, f"429: retry after {seconds:g} s")
            return False
        except (Forbidden, BadRequest) as exc:
            if call.method.startswith("edit") and "not modified" in str(exc):
                await asyncio.to_thread(self._mark_sent, row, None, call)
                return True
            log.error("outbox %s to %s failed for good: %s", call.method, row.chat_id, exc)
            await asyncio.to_thread(self._fail, row.id, str(exc))
            return True
        except (NetworkError, TelegramError) as exc:
            await asyncio.to_thread(self._retry_later, row.id, _backoff(row.attempts), str(exc))
            return False
        message = Message.de_json(result, self.bot) if isinstance(result, dict) else None
        await asyncio.to_thread(self._mark_sent, row, message, call)
        return True

    def _retry_later(self, row_id: int, seconds: float, error: str) -> None:
        with self.sessions() as session, session.begin():
            row = session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:500]
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=seconds)

    def _fail(self, row_id: int, error: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id)
                            .values(status="failed", last_error=error[:500], attempts=OutboxMessage.attempts + 1))
            row = session.get(OutboxMessage, row_id)
            if row is not None:
                undeliverable(session, row, error)  # whoever waited on it hears the truth

    def _mark_sent(self, row: OutboxMessage, message: Message | None, call: BotApiCall) -> None:
        with self.sessions() as session, session.begin():
            if row.purpose == FORGETME_PURPOSE:  # nothing of a forgotten follower stays, not even this
                session.execute(delete(OutboxMessage).where(OutboxMessage.id == row.id))
                return
            session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                status="sent", sent_at=utcnow(), attempts=OutboxMessage.attempts + 1,
                sent_message_id=message.message_id if message else None,
            ))
            if message is not None and call.sends_message and message.chat.type == "private":
                session.add(DirectMessage(
                    user_id=message.chat.id, chat_id=message.chat.id, message_id=message.message_id,
                    direction="out", content_type="text" if message.text else "file",
                    text=message.text or message.caption, created_at=utcnow(),
                ))
