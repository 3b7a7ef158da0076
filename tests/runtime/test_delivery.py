"""The outbox: nothing owed is dropped when a send fails; Telegram's limits are respected."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from bot.kernel.outbox import send_text
from bot.store.db import make_engine, make_sessionmaker, transaction, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, OutboxMessage, utcnow
from bot.store.outbox_queue import claim_outbox, mark_sent, pace_chat, reserve_slots
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


def test_send_pace_is_shared_by_every_sender(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    lease = timedelta(seconds=30)
    with transaction(sessions) as s:
        for chat, text in [(5, "a1"), (5, "a2"), (6, "b1"), (-42, "g1")]:
            send_text(s, chat, text)
    with transaction(sessions) as s:  # one head per chat: a chat's second message waits for the first
        first = claim_outbox(s, "w1", lease)
        assert sorted((r.chat_id, r.params["text"]) for r in first) == [(-42, "g1"), (5, "a1"), (6, "b1")]
        assert claim_outbox(s, "w2", lease) == []  # claimed rows are not handed out twice
        now = time.time()
        slots = [reserve_slots(s, 3, 0.1, now), reserve_slots(s, 2, 0.1, now)]
        assert slots[0] >= now and slots[1] >= slots[0] + 0.3 - 1e-6  # disjoint slots across senders
        for row in first:
            assert mark_sent(s, row.id, "w1", None)
            pace_chat(s, row.chat_id, now + 60)
    with transaction(sessions) as s:
        assert claim_outbox(s, "w2", lease) == []  # a2 waits for chat 5's pace
    with transaction(sessions) as s:
        later = utcnow() + timedelta(seconds=61)
        assert [r.params["text"] for r in claim_outbox(s, "w2", lease, now=later)] == ["a2"]
    engine.dispose()


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
            assert row.status == "sent" and row.attempts == 1  # the send; 429s are not counted (bot/store/retry.py)


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
        assert row.status == "dead" and "blocked" in (row.last_error or "")


async def test_a_row_deleted_or_taken_over_after_the_claim_is_never_sent(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """The sender checks, right before each send, that its claimed row still exists and is still its own."""
    from telegram import Bot

    from bot.config import LimitsConfig
    from bot.runtime.health import Metrics
    from bot.runtime.sender import OutboxSender
    from bot.store.db import migrated_sessions

    sessions = migrated_sessions(sqlite_url)
    ana, ben, cy = (sandbox.user(uid, name) for uid, name in ((101, "Ana"), (102, "Ben"), (103, "Cy")))
    with sessions() as s, s.begin():
        for user in (ana, ben, cy):
            send_text(s, user["id"], f"hello {user['first_name']}")
    lease = timedelta(seconds=30)
    with sessions() as s, s.begin():
        rows = claim_outbox(s, "w1", lease)
    assert len(rows) == 3
    with sessions() as s, s.begin():
        s.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == 101))  # /forgetme, after the claim
        s.execute(update(OutboxMessage).where(OutboxMessage.chat_id == 102).values(claimed_by="w2"))  # taken over
    bot = Bot(sandbox.token, base_url=f"{sandbox.root_url}/bot")
    sender = OutboxSender(lambda: bot, sessions, LimitsConfig(), "w1", lease, Metrics())
    async with bot:
        sender.bot = bot
        for row in rows:
            await sender._send(row)
    assert sorted(sandbox.sent) == [103]  # only Cy's row was still ours


def test_long_texts_split_between_lines_by_their_length_as_shown() -> None:
    from bot.kernel.outbox import split_text

    line = "<b>&lt;tag&gt;</b> " + "é" * 90  # 97 characters shown, 114 written
    parts = split_text("\n".join([line] * 100), limit=1000)
    assert "\n".join(parts) == "\n".join([line] * 100)  # nothing lost, cut only between lines
    assert [p.count("\n") + 1 for p in parts] == [10] * 10  # ten 97-character lines and their breaks per part
    assert split_text("x" * 2500, limit=1000) == ["x" * 1000, "x" * 1000, "x" * 500]
    assert split_text("short") == ["short"]


async def test_a_reply_that_always_meets_a_network_error_is_dead_lettered_after_its_bound_and_the_next_goes_out(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.runtime import sender
    from bot.store.retry import RetryPolicy

    # the outbox's policy with a short patience (a day in production); passing failures are not counted
    monkeypatch.setattr(sender, "OUTBOX_POLICY", RetryPolicy(max_attempts=10, patience=timedelta(seconds=2),
                                                             passing_first=0.2, max_delay=0.5))
    sandbox.user(101, "Ana")
    sandbox.fail_sends_with("cursed", code=502, description="Bad Gateway")  # every try: the network, for ever
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        async with bot.runtime.services.unit() as s:
            send_text(s, 101, "a cursed reply")
            send_text(s, 101, "the next reply")
        def statuses() -> list[str]:
            with bot.sessions() as s:
                return list(s.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))

        await wait_for(lambda: statuses() == ["dead", "sent"], 15, "a dead letter, and the next reply sent")
        assert bot.replies_to(101) == ["the next reply"]
        with bot.sessions() as s:
            cursed, nxt = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            assert cursed.status == "dead" and nxt.status == "sent"
            assert cursed.last_error is not None and cursed.last_error.startswith("still failing after 2 s")
            assert "Bad Gateway" in cursed.last_error
            assert cursed.attempts == 0  # a passing failure never counts
        tries = [c for c in sandbox.calls if c.method == "sendMessage" and "cursed" in str(c.params.get("text"))]
        assert len(tries) >= 3 and not any(c.ok for c in tries), [(c.received, c.ok) for c in tries]  # retried until the bound
        sent = next(c for c in sandbox.calls if c.method == "sendMessage" and c.ok)
        assert sent.received > max(c.received for c in tries)  # the chat's order held until the dead letter

        sandbox.send_private(sandbox.user(CREATOR_ID, "Maya"), "/health")  # the creator sees it, with the reason
        await wait_for(lambda: bool(bot.replies_to(CREATOR_ID)), 10, "the creator's /health")
        health = bot.replies_to(CREATOR_ID)[0]
        assert "1 messages not delivered" in health and "to chat 101 (reply)" in health
        assert "still failing after 2 s: Bad Gateway" in health
