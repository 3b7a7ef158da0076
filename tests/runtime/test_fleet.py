"""A fleet of workers on PostgreSQL: kill -9 in the middle loses and repeats nothing; outages heal.

Both tests need the local PostgreSQL server; the fleet test runs three real `creatorbot run`
processes (with the fake encoder and classifier, chosen through the test-only environment
switches) and is marked `slow`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from bot.config import load_settings
from bot.faq.training import import_and_train
from bot.store.db import make_engine, make_sessionmaker, transaction, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, Reminder, utcnow
from botapi_sandbox.config import SANDBOX_WEBHOOK_SECRET, write_sandbox_config
from botapi_sandbox.processes import stop_all
from botapi_sandbox.server import BotApiSandbox, SandboxThread
from nlp.faq_data import load_faq
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, PG_ADMIN_URL, _reset_pg, settings_for, wait_for
from tests.fakes import fake_encoders
from tests.process import wait_until
from tests.runtime.test_runtime import free_port

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
DEMO_FAQ = ROOT / "bot" / "demo_data" / "faq.yaml"
SEND_LIMIT = 40.0
FOLLOWERS, QUESTIONS_EACH = 1000, 3


def fleet_config(path: Path, sandbox: BotApiSandbox, db_url: str, report_at: str = "09:00",
                 lease: float = 5) -> Path:
    return write_sandbox_config(path, sandbox, db_url, (CREATOR_ID,), webhook=True, extra=f"""
[limits]
send_per_second = {SEND_LIMIT}
follower_messages_per_minute = 100

[schedule]
report = "daily"
report_time = "{report_at}"

[runtime]
lease_seconds = {lease:g}
""")


def start_worker(config: Path, port: int, log: Path, health_port: int, name: str = "creatorbot",
                 feature: str = "") -> subprocess.Popen[bytes]:
    """A `creatorbot run` worker with the fake models; `name` is its PostgreSQL application_name,
    `feature` a test-only extra registration (module:callable)."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1",
           "CREATORBOT_WEBHOOK_PORT": str(port), "CREATORBOT_HEALTH_PORT": str(health_port), "PGAPPNAME": name,
           "CREATORBOT_TEST_ONLY_ENCODER_FACTORY": "tests.fakes:fake_encoders",
           "CREATORBOT_TEST_ONLY_CLASSIFIER_FACTORY": "tests.fakes:KeywordSentiment"}
    if feature:
        env["CREATORBOT_TEST_ONLY_FEATURE"] = feature
    env.pop("CREATORBOT_TOKEN", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def health_status(port: int) -> int:
    """The HTTP status of the worker's /healthz (0: no answer)."""
    async def get() -> int:
        try:
            timeout = aiohttp.ClientTimeout(total=3)
            async with aiohttp.ClientSession(timeout=timeout) as http, \
                    http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                return resp.status
        except (aiohttp.ClientError, TimeoutError):
            return 0
    return asyncio.run(get())


def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def max_per_second(times: list[float]) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def answered_entries(settings: Any) -> list[tuple[str, str]]:
    """(question, answer) of every demo entry the trained model answers by itself."""
    from bot.faq.model import faq_model_for
    from bot.store.db import migrated_sessions

    model = faq_model_for(settings, fake_encoders, sessions=migrated_sessions(settings.database.url))
    assert model.reload_if_changed() and model.matcher is not None
    entries = load_faq(DEMO_FAQ)
    matches = model.matcher.match([e.questions[0] for e in entries])
    return [(e.questions[0], e.answer) for e, m in zip(entries, matches, strict=True) if not m.handoff]


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_three_workers_killed_twice_lose_and_repeat_nothing(pg_url: str, tmp_path: Path) -> None:
    _reset_pg(pg_url)
    with SandboxThread(BotApiSandbox()) as sandbox:
        report_at = utcnow() + timedelta(minutes=2)  # the daily report falls due while the fleet works
        config = fleet_config(tmp_path / "fleet.toml", sandbox, pg_url, f"{report_at:%H:%M}")
        settings = load_settings(config, env={})
        import_and_train(settings, load_faq(DEMO_FAQ), fake_encoders, 0.9)
        qa = answered_entries(settings)
        assert len(qa) >= 5, "the fake encoder should answer the demo FAQ's own questions"
        engine = make_engine(pg_url)
        with transaction(make_sessionmaker(engine, DEFAULT_CREATOR_ID)) as s:  # due while the fleet works
            due = utcnow() + timedelta(seconds=40)
            s.add(Reminder(chat_id=CREATOR_ID, text="fleet reminder: post the recap", due_at=due))
        engine.dispose()

        ports = [free_port() for _ in range(3)]
        health_ports = [free_port() for _ in range(3)]
        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        workers = [start_worker(config, port, log, health)
                   for port, log, health in zip(ports, logs, health_ports, strict=True)]
        try:
            wait_until(lambda: all(health_status(p) == 200 for p in health_ports), 120, "three healthy workers",
                       poll=0.5)
            sandbox.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
            sandbox.webhook_connections = 6
            sandbox.user(CREATOR_ID, "Maya")
            users = [sandbox.user(10_000 + i, f"F{i}") for i in range(FOLLOWERS)]
            _, forward = sandbox.channel_post("New video is up #gear")
            expected: dict[int, list[str]] = {}
            for r in range(QUESTIONS_EACH):
                for i, user in enumerate(users):
                    question, answer = qa[(i + r) % len(qa)]
                    sandbox.send_private(user, question)
                    expected.setdefault(user["id"], []).append(answer)
                    if r == 1:
                        sandbox.comment(forward, user, f"comment {i}: love it")
            total = 2 + FOLLOWERS * (QUESTIONS_EACH + 1)

            def done() -> int:
                return int(scalar(pg_url, "select count(*) from raw_updates where status = 'done'") or 0)

            for victim, share in ((0, 0.3), (1, 0.6)):
                wait_until(lambda share=share: done() >= share * total, 900, f"{share:.0%} handled", poll=0.2)
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = start_worker(config, ports[victim], logs[victim], health_ports[victim])
            wait_until(lambda: done() == total and sandbox.pending_count == 0, 900, "every update handled", poll=1)
            wait_until(lambda: scalar(pg_url, "select count(*) from reminders where kind = 'manual' "
                                              "and status = 'done'") == 1
                       and scalar(pg_url, "select count(*) from reminders where kind = 'report' "
                                          "and sent_count > 0") == 1
                       and scalar(pg_url, "select count(*) from outbox where status = 'pending'") == 0,
                       300, "every message sent, the reminder and the report due", poll=1)
            time.sleep(2)
        finally:
            stop_all(workers)

        diagnostics = "\n".join(log.read_text()[-1500:] for log in logs)
        # every update stored once and handled once
        assert scalar(pg_url, "select count(*) from raw_updates") == total
        assert scalar(pg_url, "select count(distinct update_id) from raw_updates") == total
        assert scalar(pg_url, "select count(*) from faq_answers") == FOLLOWERS * QUESTIONS_EACH, diagnostics
        assert scalar(pg_url, "select count(*) from comments") == FOLLOWERS
        assert scalar(pg_url, "select count(*) from outbox where status <> 'sent'") == 0
        # replies: none lost, at most one duplicate per kill, each chat in order
        duplicates = 0
        for chat_id, answers in expected.items():
            got = sandbox.texts_to(chat_id)
            unique = [t for k, t in enumerate(got) if k == 0 or t != got[k - 1]]
            duplicates += len(got) - len(unique)
            assert unique == answers, f"chat {chat_id}: {got} != {answers}"
        assert duplicates <= 2
        # the fleet together kept Telegram's overall limit
        sends = [c.at for c in sandbox.calls if c.method.startswith("send") and c.ok]
        assert max_per_second(sends) <= SEND_LIMIT
        # jobs ran once: one reminder, one report (its chart and its text)
        to_creator = sandbox.texts_to(CREATOR_ID)
        assert sum("fleet reminder" in t for t in to_creator) == 1, to_creator
        assert len([c for c in sandbox.calls_of("sendPhoto") if c.params.get("chat_id") == CREATOR_ID]) == 1
        assert len(sandbox.webhook_deliveries) == 3  # the load balancer used every worker


async def test_a_postgres_outage_heals_by_itself(pg_url: str, sandbox: BotApiSandbox, tmp_path: Path) -> None:
    import psycopg

    _reset_pg(pg_url)
    name = pg_url.rsplit("/", 1)[1]
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    port, health_port = free_port(), free_port()
    settings = settings_for(sandbox, pg_url, tmp_path, telegram={
        "mode": "webhook", "webhook_url": f"http://127.0.0.1:{port}/telegram", "webhook_port": port,
        "webhook_secret": SANDBOX_WEBHOOK_SECRET},
        runtime={"lease_seconds": 5, "health_port": health_port})
    users = [sandbox.user(20_000 + i, f"U{i}") for i in range(120)]
    statuses: list[int] = []

    async def health() -> int:
        try:
            async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{health_port}/healthz") as resp:
                return resp.status
        except aiohttp.ClientError:
            return 0

    def outage(allow: bool) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))

    upgrade(pg_url)
    async with running_bot(settings, sandbox) as bot:
        for user in users[:60]:
            sandbox.send_private(user, "/start")
        await wait_for(lambda: len(sandbox.calls_of("sendMessage")) >= 5, 30, "the first replies")
        await asyncio.to_thread(outage, False)
        try:
            for user in users[60:]:
                sandbox.send_private(user, "/start")  # the receiver answers 503 until it can store them
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                statuses.append(await health())
                await asyncio.sleep(0.3)
        finally:
            await asyncio.to_thread(outage, True)
        back = time.monotonic()
        await wait_for(lambda: all(sandbox.texts_to(u["id"]) for u in users), 60, "a reply to every follower")
        recovered_in = time.monotonic() - back
        await bot.settle(30)
        assert 503 in statuses, statuses  # /healthz reported the outage
        assert await health() == 200
        with bot.sessions() as s:
            rows = s.execute(text("select status, count(*) from raw_updates group by status")).all()
        assert dict(rows) == {"done": len(users)}
        assert all(1 <= len(sandbox.texts_to(u["id"])) <= 2 for u in users)
        assert recovered_in < 30
        failures = {name: loop["failures"] for name, loop in (await bot.runtime.health.report())[1]["loops"].items()}
        assert any(failures.values()), failures  # the loops did fail, and came back
