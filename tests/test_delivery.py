"""The outbox: nothing owed is dropped when a send fails; Telegram's limits are respected."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.config import LimitsConfig
from bot.runtime.sender import SendLimiter
from bot.sandbox.server import BotApiSandbox
from bot.store.models import OutboxMessage
from tests.bot_harness import running_bot
from tests.conftest import settings_for


def test_limiter_spaces_messages_per_chat_and_per_group() -> None:
    limiter = SendLimiter(LimitsConfig(send_per_chat_per_second=1, send_per_second=30, send_per_group_per_minute=20))
    assert limiter.wait_for(5, 100.0) == 0
    limiter.sent(5, 100.0)
    assert 0.99 <= limiter.wait_for(5, 100.0) <= 1.0
    assert 0 < limiter.wait_for(6, 100.0) <= 1 / 30 + 1e-9  # another chat: only the global gap
    for i in range(20):
        limiter.sent(-42, 200.0 + i * 1.0)
    assert limiter.wait_for(-42, 220.0) >= 39.0  # the 21st group message waits for the minute
    limiter.pause(7, 5.0, 300.0)
    assert limiter.wait_for(7, 301.0) >= 4.0


async def test_429_is_retried_after_retry_after(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.fail_next("sendMessage", times=2, code=429, retry_after=1)
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, "/start")
        await bot.settle()
        assert len(bot.replies_to(101)) == 1
        failed = [c for c in sandbox.calls if c.method == "sendMessage" and not c.ok]
        assert len(failed) == 2
        with bot.sessions() as s:
            row = s.scalars(select(OutboxMessage)).one()
            assert row.status == "sent" and row.attempts == 3


async def test_sends_survive_a_server_outage(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.fail_next("sendMessage", times=1, code=502, retry_after=None, description="Bad Gateway")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, "/start")
        await bot.settle(timeout=30)
        assert len(bot.replies_to(101)) == 1


async def test_per_chat_limit_keeps_order_and_loses_nothing(
    sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path
) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.per_chat_interval = 0.9  # the sandbox answers 429 to anyone faster than this
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        for text in ("/start", "/help", "/start"):
            sandbox.send_private(ana, text)
        await bot.settle(timeout=30)
        replies = bot.replies_to(101)
        assert len(replies) == 3
        assert "Hi Ana" in replies[0] and "What I can do" in replies[1] and "Hi Ana" in replies[2]
        assert not [c for c in sandbox.calls if c.method == "sendMessage" and not c.ok]


async def test_blocked_user_is_not_retried_forever(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.fail_next("sendMessage", code=403, retry_after=None, description="Forbidden: bot was blocked by the user")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, "/start")
        await bot.settle()
        with bot.sessions() as s:
            row = s.scalars(select(OutboxMessage)).one()
        assert row.status == "failed" and "blocked" in (row.last_error or "")
