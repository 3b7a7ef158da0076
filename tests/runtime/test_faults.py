"""Fault injection on a fleet: three `creatorbot run` workers on PostgreSQL while the database server
restarts, while one worker's connections are cut, and while a handler runs past its lease. Nothing is
lost, no reply goes out twice, every worker is healthy again within 30 s, and `/healthz` says the
truth throughout (503 while the database is away, 200 once it is back).

Slow and PostgreSQL-only: it restarts the local server (`pg_ctlcluster`), so it runs in CI's full run,
not beside other PostgreSQL tests.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bot.config import load_settings
from bot.faq.training import import_and_train
from botapi_sandbox.processes import stop_all
from botapi_sandbox.server import BotApiSandbox, SandboxThread
from nlp.faq_data import load_faq
from tests.conftest import CREATOR_ID, PG_ADMIN_URL, _reset_pg
from tests.fakes import fake_encoders
from tests.process import wait_until
from tests.runtime.test_fleet import (
    DEMO_FAQ,
    answered_entries,
    fleet_config,
    health_status,
    scalar,
    start_worker,
)
from tests.runtime.test_runtime import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
FOLLOWERS = 150
LEASE = 15.0  # longer than the restart's outage: a live worker keeps what it holds through it


def restart_postgres(down_for: float = 3.0) -> tuple[float, float]:
    """Stop the server (fast shutdown: sessions are cut), keep it down a while, start it again.

    Returns when the server was surely down: from the moment `stop` returned to the moment `start`
    began (while `start` runs the server may already accept connections)."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[0]
    ctl = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    subprocess.run([*ctl, "stop", "-m", "fast"], check=True, capture_output=True, timeout=120)
    stopped = time.monotonic()
    time.sleep(down_for)
    starting = time.monotonic()
    subprocess.run([*ctl, "start"], check=True, capture_output=True, timeout=120)
    return stopped, starting


def accepting() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def cut_connections(db_url: str, application_name: str) -> int:
    """Terminate every session of one worker (its libpq application_name)."""
    with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                            "AND application_name = %s", (db_url.rsplit("/", 1)[1], application_name)).fetchall()
    return len(rows)


class HealthWatch(threading.Thread):
    """Samples every worker's /healthz twice a second: (asked at, answered at, port, status)."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__(daemon=True)
        self.ports, self.samples, self.stop = ports, list[tuple[float, float, int, int]](), threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for port in self.ports:
                asked = time.monotonic()
                status = health_status(port)
                self.samples.append((asked, time.monotonic(), port, status))
            time.sleep(0.5)


@pytest.mark.timeout(900)
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir(),
                    reason="needs a local PostgreSQL cluster this test may restart")
def test_a_fleet_rides_out_a_restart_a_cut_connection_and_a_slow_handler(pg_url: str, tmp_path: Path) -> None:
    _reset_pg(pg_url)
    with SandboxThread(BotApiSandbox()) as sandbox:
        config = fleet_config(tmp_path / "fleet.toml", sandbox, pg_url, lease=LEASE)
        settings = load_settings(config, env={})
        import_and_train(settings, load_faq(DEMO_FAQ), fake_encoders, 0.9)
        qa = answered_entries(settings)
        ports = [free_port() for _ in range(3)]
        health_ports = [free_port() for _ in range(3)]
        logs = [tmp_path / f"worker{i}.log" for i in range(3)]
        workers = [start_worker(config, port, log, health, name=f"worker{i}", feature="tests.fakes:slow_feature")
                   for i, (port, log, health) in enumerate(zip(ports, logs, health_ports, strict=True))]
        watch = HealthWatch(health_ports)
        try:
            wait_until(lambda: all(health_status(p) == 200 for p in health_ports), 120, "three healthy workers",
                       poll=0.5)
            watch.start()
            sandbox.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
            sandbox.webhook_connections = 6
            sandbox.user(CREATOR_ID, "Maya")
            slow = sandbox.user(500, "Slow")
            users = [sandbox.user(30_000 + i, f"F{i}") for i in range(FOLLOWERS)]
            expected: dict[int, list[str]] = {}

            def ask(round_: int) -> None:
                for i, user in enumerate(users):
                    question, answer = qa[(i + round_) % len(qa)]
                    sandbox.send_private(user, question)
                    expected.setdefault(user["id"], []).append(answer)

            def done() -> int:
                return int(scalar(pg_url, "select count(*) from raw_updates where status = 'done'") or 0)

            sandbox.send_private(slow, f"slow {1.5 * LEASE:g}")  # outlives its lease
            ask(0)
            wait_until(lambda: done() >= FOLLOWERS // 3, 300, "a third handled", poll=0.2)
            assert cut_connections(pg_url, "worker1") >= 1
            wait_until(lambda: done() >= 2 * FOLLOWERS // 3, 300, "two thirds handled", poll=0.2)
            down_from, down_until = restart_postgres()
            wait_until(accepting, 60, "PostgreSQL to accept connections again", poll=0.2)
            back = time.monotonic()
            ask(1)
            total = 1 + 2 * FOLLOWERS
            wait_until(lambda: done() == total and sandbox.pending_count == 0
                       and scalar(pg_url, "select count(*) from outbox where status = 'pending'") == 0,
                       300, "every update handled and every reply sent", poll=1)
            healthy_again = {p: min((t for t, _, port, s in watch.samples if port == p and s == 200 and t > back),
                                    default=None) for p in health_ports}
        finally:
            watch.stop.set()
            stop_all(workers)

        diagnostics = "\n".join(log.read_text()[-1500:] for log in logs)
        assert scalar(pg_url, "select count(*) from raw_updates where status <> 'done'") == 0, diagnostics
        assert scalar(pg_url, "select count(*) from outbox where status <> 'sent'") == 0, diagnostics
        for chat_id, answers in expected.items():
            assert sandbox.texts_to(chat_id) == answers, f"chat {chat_id}: {sandbox.texts_to(chat_id)}"
        assert sandbox.texts_to(500) == ["done slowly"]  # the slow handler kept its update: one reply
        for port, at in healthy_again.items():
            assert at is not None and at - back < 30, f"worker on {port} not healthy 30 s after the restart"
        # asked and answered while the server was surely down: /healthz said the database was away
        during = [s for asked, answered, _, s in watch.samples if down_from < asked and answered < down_until]
        assert during and 200 not in during, during
