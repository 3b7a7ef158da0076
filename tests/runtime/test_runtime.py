"""The runtime: retries and dead letters, update ids reused by Telegram, roles, health and metrics."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import create_runtime
from bot.config import ConfigError, parse_settings
from bot.runtime.processor import MAX_ATTEMPTS
from bot.runtime.worker import PollerRoleTaken
from bot.store.db import make_engine, make_sessionmaker, transaction, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, RawUpdate
from bot.store.updates import claim_updates, store_raw_updates
from botapi_sandbox.config import SANDBOX_WEBHOOK_SECRET
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_failing_update_is_retried_then_dead_lettered_with_one_notice(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana, ben, cy = sandbox.user(101, "Ana"), sandbox.user(102, "Ben"), sandbox.user(103, "Cy")
    sandbox.user(CREATOR_ID, "Maya")
    attempts: list[int] = []

    async def poisoned(update: Update, context: object) -> None:
        message = update.effective_message
        if message is not None and message.text == "poison":
            attempts.append(update.update_id)
            raise RuntimeError("this update always fails")

    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        bot.runtime.application.add_handler(TypeHandler(Update, poisoned), group=-1)
        sandbox.send_private(ana, "/start")
        sandbox.send_private(ben, "poison")
        sandbox.send_private(ben, "/help")  # Ben's next update waits for the poisoned one, then goes on
        sandbox.send_private(cy, "/start")
        await bot.settle(40)
        assert len(attempts) == MAX_ATTEMPTS and len(set(attempts)) == 1
        with bot.sessions() as s:
            rows = {r.update_id: r for r in s.scalars(select(RawUpdate))}
        bad = rows[attempts[0]]
        assert bad.payload["message"]["text"] == "poison"
        assert bad.status == "dead" and bad.attempts == MAX_ATTEMPTS
        assert "always fails" in (bad.error or "")
        assert sorted(r.status for r in rows.values()) == ["dead", "done", "done", "done"]
        notices = bot.replies_to(CREATOR_ID)
        assert len(notices) == 1 and "always fails" in notices[0]
        assert (bad.error or "").startswith(f"failed {MAX_ATTEMPTS} times: ")  # the reason it was given up
        sandbox.send_private(sandbox.user(CREATOR_ID, "Maya"), "/health")
        await bot.settle(20)
        health = bot.replies_to(CREATOR_ID)[-1]
        assert "1 updates set aside" in health and f"#{bad.update_id} message" in health
        assert f"failed {MAX_ATTEMPTS} times: RuntimeError: this update always fails" in health
        assert len(bot.replies_to(101)) == 1 and len(bot.replies_to(103)) == 1
        assert len(bot.replies_to(102)) == 1  # /help answered; the poisoned update's writes rolled back


def test_a_reused_update_id_is_a_new_update(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    old = {"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"},
                                       "text": "last week"}}
    new = {"update_id": 7, "message": {"message_id": 90, "date": 2, "chat": {"id": 5, "type": "private"},
                                       "text": "after Telegram restarted its ids"}}
    with transaction(sessions) as s:
        assert store_raw_updates(s, [old]) == 1
    with transaction(sessions) as s:
        assert store_raw_updates(s, [old, new]) == 1  # the redelivery is ignored, the reuse is stored
    with transaction(sessions) as s:
        texts = [r.payload["message"]["text"] for r in s.scalars(select(RawUpdate).order_by(RawUpdate.id))]
        assert texts == ["last week", "after Telegram restarted its ids"]
        assert {r.chat_key for r in s.scalars(select(RawUpdate))} == {5}
    engine.dispose()


async def test_a_second_poller_refuses_to_start(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path)
    async with running_bot(settings, sandbox) as bot:
        second = create_runtime(settings)
        with pytest.raises(PollerRoleTaken, match="poller role"):
            await second.start()
        await second.stop()
        sandbox.send_private(sandbox.user(101, "Ana"), "/start")
        await bot.settle()
        assert len(bot.replies_to(101)) == 1  # the first poller kept its role and works


async def test_healthz_and_metrics(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """On their own port, never on the public webhook port (they tell queue depths and errors)."""
    port, health_port = free_port(), free_port()
    settings = settings_for(sandbox, sqlite_url, tmp_path, telegram={
        "mode": "webhook", "webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_port": port,
        "webhook_secret": SANDBOX_WEBHOOK_SECRET}, runtime={"health_port": health_port})
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(sandbox.user(101, "Ana"), "/start")
        await bot.settle()
        async with aiohttp.ClientSession() as http:
            for path in ("/healthz", "/metrics"):
                async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                    assert resp.status == 404, path
            async with http.get(f"http://127.0.0.1:{health_port}/healthz") as resp:
                body = await resp.json()
                assert resp.status == 200, body
            assert body["ok"] and body["database"] == "ok"
            assert {"processor", "sender", "roles", "sentiment"} <= set(body["loops"])
            assert body["queues"]["updates_pending"] == 0
            async with http.get(f"http://127.0.0.1:{health_port}/metrics") as resp:
                metrics = await resp.text()
        assert 'creatorbot_updates_handled_total{creator="default",outcome="done"} 1.0' in metrics
        assert "creatorbot_outbox_sent_total{creator=\"default\"} 1.0" in metrics
        assert "creatorbot_handler_seconds_bucket" in metrics


def test_the_health_port_comes_from_the_environment_and_is_loopback_by_default() -> None:
    assert parse_settings({}, env={"CREATORBOT_HEALTH_PORT": "9101"}).runtime.health_port == 9101
    defaults = parse_settings({}, env={}).runtime
    assert defaults.health_port == 0 and defaults.health_listen == "127.0.0.1"
    with pytest.raises(ConfigError, match="CREATORBOT_HEALTH_PORT"):
        parse_settings({}, env={"CREATORBOT_HEALTH_PORT": "http"})


def test_webhook_port_comes_from_the_environment() -> None:
    raw = {"telegram": {"mode": "webhook", "webhook_url": "https://bot.example/telegram",
                        "webhook_secret": SANDBOX_WEBHOOK_SECRET}}
    assert parse_settings(raw, env={"CREATORBOT_WEBHOOK_PORT": "8601"}).telegram.webhook_port == 8601
    assert parse_settings(raw, env={}).telegram.webhook_port == 8443
    with pytest.raises(ConfigError, match="CREATORBOT_WEBHOOK_PORT"):
        parse_settings(raw, env={"CREATORBOT_WEBHOOK_PORT": "eighty"})


def test_a_comment_waits_for_its_post_while_a_dead_worker_holds_the_post(db_url: str) -> None:
    """The channel is ordered with its discussion group: a comment is never handled before its post."""
    upgrade(db_url)
    sessions = make_sessionmaker(make_engine(db_url), DEFAULT_CREATOR_ID)
    channel, group = -100, -200
    post = {"update_id": 1, "channel_post": {"message_id": 1, "date": 1, "chat": {"id": channel, "type": "channel"},
                                             "text": "new post #travel"}}
    comment = {"update_id": 2, "message": {"message_id": 7, "date": 2, "chat": {"id": group, "type": "supergroup"},
                                           "from": {"id": 11, "is_bot": False, "first_name": "Ana"},
                                           "text": "love it"}}
    with transaction(sessions) as s:
        assert store_raw_updates(s, [post, comment], {channel: group}) == 2
    with transaction(sessions) as s:
        assert [r.update_id for r in claim_updates(s, "dead-worker", timedelta(minutes=5))] == [1, 2]
    with transaction(sessions) as s:  # its lease still runs: the comment must not overtake the post
        s.execute(update(RawUpdate).where(RawUpdate.update_id == 2).values(claimed_by=None, lease_until=None))
        assert claim_updates(s, "new-worker", timedelta(minutes=5)) == []


async def test_a_worker_that_cannot_renew_its_roles_stops_acting_in_them(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """Its leases lapse after ROLE_TTL and another worker may take the scheduler then: once renewing has
    failed for two thirds of that, this worker holds no role (the jobs see it is not the leader)."""
    from bot.runtime.worker import SCHEDULER

    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        runtime = bot.runtime
        assert SCHEDULER in runtime.roles
        sessions = runtime.services.sessions
        away = make_sessionmaker(make_engine(f"sqlite:///{tmp_path}/no/such/dir/bot.db"), DEFAULT_CREATOR_ID)
        runtime.services.sessions = away  # the database is away for this worker
        runtime.roles_renewed -= 60  # and has been for a while
        try:
            await wait_for(lambda: not runtime.roles, 15, "the worker to drop its roles")
            assert not runtime._is_leader()
        finally:
            runtime.services.sessions = sessions
        await wait_for(lambda: SCHEDULER in runtime.roles, 15, "the roles back once the database is")
