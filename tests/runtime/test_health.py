"""/healthz stays truthful and quick when the database is out of reach, and tells no error text;
PostgreSQL connections carry a connect timeout, TCP keepalives and a statement timeout."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.config import ConfigError, DatabaseConfig, parse_settings
from bot.runtime.health import Health, Metrics
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import DEFAULT_CREATOR_ID


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a database behind a partitioned network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


async def test_healthz_answers_503_quickly_when_the_database_hangs(silent_server: int) -> None:
    url = f"postgresql+psycopg://bot:secret@127.0.0.1:{silent_server}/creatorbot"
    engine = make_engine(url, DatabaseConfig(connect_timeout_seconds=2))
    health = Health(make_sessionmaker(engine, DEFAULT_CREATOR_ID), Metrics(), "w1")
    health.started("processor")
    try:
        start = time.monotonic()
        results = await asyncio.gather(*(health.report() for _ in range(12)))  # a burst of probes
        assert time.monotonic() - start < 5
        for ok, body in results:
            assert ok is False and body["database"] == "unreachable"
            shown = json.dumps(body)
            assert str(silent_server) not in shown and "127.0.0.1" not in shown and "bot" not in shown.replace(
                '"worker"', "")
        # the probes did not take the threads that every other blocking call of the bot runs on
        async with asyncio.timeout(1):
            assert await asyncio.to_thread(lambda: 42) == 42
        await asyncio.sleep(2.5)  # connect_timeout: the stuck probe gave up
        ok, body = await health.report()
        assert body["database"] == "unreachable"
    finally:
        engine.dispose()


async def test_a_loops_error_text_stays_in_the_log() -> None:
    health = Health(make_sessionmaker(make_engine("sqlite://"), DEFAULT_CREATOR_ID), Metrics(), "w1")
    health.failed("sender", RuntimeError('connection to server at "db.internal" (10.0.0.5) failed'))
    _, body = await health.report()
    assert body["loops"]["sender"]["last_error"] == "RuntimeError"
    assert "db.internal" not in json.dumps(body)


def test_postgres_connections_carry_the_timeouts(pg_url: str) -> None:
    engine = make_engine(pg_url, DatabaseConfig(statement_timeout_seconds=7, connect_timeout_seconds=4,
                                                keepalives_idle_seconds=20))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "7s"
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
            assert params["connect_timeout"] == "4"
            assert params["keepalives"] == "1" and params["keepalives_idle"] == "20"
            with pytest.raises(Exception, match="statement timeout"):
                conn.execute(text("SELECT pg_sleep(8)"))
    finally:
        engine.dispose()
    default = make_engine(pg_url)
    try:
        with default.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1min"
    finally:
        default.dispose()


def test_postgres_timeouts_keep_options_given_in_the_url(pg_url: str) -> None:
    engine = make_engine(pg_url + "?options=-c%20application_name%3Dcreatorbot-test")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW application_name")).scalar() == "creatorbot-test"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1min"
    finally:
        engine.dispose()


@pytest.mark.parametrize(("key", "value"), [("connect_timeout_seconds", 0), ("statement_timeout_seconds", -1),
                                            ("keepalives_idle_seconds", 0)])
def test_bad_database_timeouts_name_the_key(key: str, value: int) -> None:
    with pytest.raises(ConfigError, match=rf"\[database\] {key} = {value}(\.0)? is not valid"):
        parse_settings({"database": {key: value}}, env={})


def test_a_migration_does_not_wait_forever_for_a_database_that_hangs(silent_server: int) -> None:
    from bot.store.db import upgrade

    start = time.monotonic()
    with pytest.raises(Exception, match="timeout"):
        upgrade(f"postgresql+psycopg://bot@127.0.0.1:{silent_server}/creatorbot")
    assert time.monotonic() - start < 20  # the default connect timeout is 10 s
