"""Questions per second and reply latency for one process on SQLite and 1-3 workers on PostgreSQL.

    python benchmarks/fleet.py [--questions 1000] [--modes sqlite-1,pg-1,pg-2,pg-3] [--encoder fake|minilm]

A burst of questions (one per follower) is queued in the sandbox Bot API at once; the figure is
questions / (last reply - first push), with Telegram's send limits lifted (as a measurement of the
bot, not of Telegram). Latency: reply recorded by the sandbox - question pushed, p50/p99 over the
burst (so it includes queueing behind the burst).

sqlite-1 runs the runtime in this process with polling (as `creatorbot run` would); pg-N start N
`creatorbot run` processes in webhook mode, the sandbox spreading the webhook calls round-robin.
The FAQ model is the demo FAQ; `--encoder fake` uses the tests' hashing encoder (the fleet's
shape, not the model's cost), `--encoder minilm` the real all-MiniLM-L6-v2 (sqlite-1 only).
Needs PostgreSQL on 127.0.0.1:5432 for the pg modes (CREATORBOT_TEST_PG to change it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.config import load_settings  # noqa: E402
from bot.faq.training import import_and_train  # noqa: E402
from botapi_sandbox.config import write_sandbox_config  # noqa: E402
from botapi_sandbox.processes import stop_all  # noqa: E402
from botapi_sandbox.server import BotApiSandbox, SandboxThread  # noqa: E402
from nlp.faq_data import load_faq  # noqa: E402

DEMO_FAQ = ROOT / "bot" / "demo_data" / "faq.yaml"
PG_ADMIN = os.environ.get("CREATORBOT_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, sandbox: BotApiSandbox, db_url: str, webhook: bool) -> Path:
    return write_sandbox_config(path, sandbox, db_url, (1,), webhook=webhook, extra="""
[limits]
send_per_second = 100000.0
send_per_chat_per_second = 1000.0
send_per_group_per_minute = 100000
follower_messages_per_minute = 1000
""")


def encoder_factory(name: str) -> Any:
    if name == "fake":
        from tests.fakes import fake_encoders

        return fake_encoders
    return None  # the real models


def burst(sandbox: BotApiSandbox, questions: list[str], n: int) -> dict[int, float]:
    pushed: dict[int, float] = {}
    users = [sandbox.user(10_000 + i, f"F{i}") for i in range(n)]
    for i, user in enumerate(users):
        pushed[user["id"]] = time.perf_counter()
        sandbox.send_private(user, questions[i % len(questions)])
    return pushed


def measure(sandbox: BotApiSandbox, pushed: dict[int, float], timeout: float) -> tuple[float, float, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(sandbox.sent.get(chat) for chat in pushed):
            break
        time.sleep(0.05)
    else:
        raise SystemExit(f"timed out: {sum(bool(sandbox.sent.get(c)) for c in pushed)}/{len(pushed)} answered")
    first: dict[int, float] = {}
    for call in sandbox.calls:
        chat = call.params.get("chat_id")
        if call.method == "sendMessage" and call.ok and chat in pushed and chat not in first:
            first[chat] = call.received
    latencies = [(first[c] - pushed[c]) * 1000 for c in pushed]
    elapsed = max(first.values()) - min(pushed.values())
    return len(pushed) / elapsed, float(np.percentile(latencies, 50)), float(np.percentile(latencies, 99))


def run_sqlite(n: int, encoder: str, questions: list[str]) -> tuple[float, float, float]:
    from bot.app import create_runtime
    from tests.fakes import KeywordSentiment

    tmp = Path(tempfile.mkdtemp())
    with SandboxThread(BotApiSandbox()) as sandbox:
        settings = load_settings(write_config(tmp / "bot.toml", sandbox, f"sqlite:///{tmp / 'bot.db'}", False), env={})
        import_and_train(settings, load_faq(DEMO_FAQ), encoder_factory(encoder))

        async def main() -> tuple[float, float, float]:
            runtime = create_runtime(settings, encoder_factory=encoder_factory(encoder), classifier_factory=KeywordSentiment)
            await runtime.start()
            try:
                await asyncio.sleep(2)
                pushed = burst(sandbox, questions, n)
                return await asyncio.to_thread(measure, sandbox, pushed, 600)
            finally:
                await runtime.stop()

        return asyncio.run(main())


def run_postgres(workers: int, n: int, questions: list[str]) -> tuple[float, float, float]:
    import psycopg

    admin = PG_ADMIN.replace("+psycopg", "")
    name = f"creatorbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    tmp = Path(tempfile.mkdtemp())
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with SandboxThread(BotApiSandbox()) as sandbox:
            config = write_config(tmp / "bot.toml", sandbox, db_url, True)
            import_and_train(load_settings(config, env={}), load_faq(DEMO_FAQ), encoder_factory("fake"))
            ports = [free_port() for _ in range(workers)]
            health_ports = [free_port() for _ in range(workers)]
            for port, health_port in zip(ports, health_ports, strict=True):
                env = {**os.environ, "CREATORBOT_WEBHOOK_PORT": str(port), "PYTHONUNBUFFERED": "1",
                       "CREATORBOT_HEALTH_PORT": str(health_port),
                       "CREATORBOT_TEST_ONLY_ENCODER_FACTORY": "tests.fakes:fake_encoders",
                       "CREATORBOT_TEST_ONLY_CLASSIFIER_FACTORY": "tests.fakes:KeywordSentiment"}
                with (tmp / f"worker-{port}.log").open("ab") as log:
                    procs.append(subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
            import urllib.request

            def up(port: int) -> bool:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                        return bool(resp.status == 200)
                except OSError:
                    return False

            deadline = time.monotonic() + 180
            while not all(up(p) for p in health_ports):
                if time.monotonic() > deadline:
                    raise SystemExit("workers did not come up; logs in " + str(tmp))
                time.sleep(0.5)
            sandbox.webhook_targets = [f"http://127.0.0.1:{p}/telegram" for p in ports]
            sandbox.webhook_connections = 2 * workers
            time.sleep(2)
            pushed = burst(sandbox, questions, n)
            return measure(sandbox, pushed, 900)
    finally:
        stop_all(procs)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--modes", default="sqlite-1,pg-1,pg-2,pg-3")
    parser.add_argument("--encoder", choices=["fake", "minilm"], default="fake")
    args = parser.parse_args()
    questions = [e.questions[0] for e in load_faq(DEMO_FAQ)]
    print(f"{args.questions} questions in a burst, one per follower; encoder: {args.encoder}; "
          f"{os.cpu_count()} CPUs; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print(f"{'mode':10} {'q/s':>8} {'p50 ms':>9} {'p99 ms':>9}")
    for mode in args.modes.split(","):
        kind, count = mode.split("-")
        if kind == "sqlite":
            qps, p50, p99 = run_sqlite(args.questions, args.encoder, questions)
        else:
            qps, p50, p99 = run_postgres(int(count), args.questions, questions)
        print(f"{mode:10} {qps:8.1f} {p50:9.0f} {p99:9.0f}", flush=True)


if __name__ == "__main__":
    main()
