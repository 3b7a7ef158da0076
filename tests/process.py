"""Running the real `creatorbot` entry point as a subprocess against a sandbox in a thread."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from botapi_sandbox.config import write_sandbox_config
from botapi_sandbox.server import BotApiSandbox
from tests.conftest import CREATOR_ID


def write_config(path: Path, sandbox: BotApiSandbox, db_file: Path, creators: tuple[int, ...] = (CREATOR_ID,)) -> Path:
    return write_sandbox_config(path, sandbox, f"sqlite:///{db_file}", creators)


def start_bot(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}
    env.pop("CREATORBOT_TOKEN", None)
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "--config", str(config), "run"],
                                stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=Path(__file__).resolve().parents[1])


def stop_bot(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> float:
    """Send `sig` and return how long the process took to exit."""
    start = time.monotonic()
    proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return time.monotonic() - start


def query(db_file: Path, sql: str) -> list[tuple[object, ...]]:
    if not db_file.exists():
        return []
    engine = create_engine(f"sqlite:///{db_file}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    except Exception:
        return []
    finally:
        engine.dispose()


def wait_until(predicate: object, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
