"""Engine and session factory, made at start-up (never at import time), and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Update, create_engine, event, make_url, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from bot.config import DatabaseConfig
from bot.store.models import DEFAULT_CREATOR_ID
from bot.store.scope import creator_sessions

MIGRATIONS = Path(__file__).parent / "migrations"


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: show only the scheme
        return url.split("://", 1)[0] + "://…"


def postgres_connect_args(url: str, database: DatabaseConfig, unlimited: bool = False) -> dict[str, Any]:
    """libpq parameters that bound every wait on the server: `connect_timeout`, TCP keepalives (and
    `tcp_user_timeout`, for data sent but never acknowledged) and the session's `statement_timeout`,
    added to any `options` the URL already has. A statement timeout of 0 leaves the server's own
    (the role's or the database's); `unlimited` lifts any (migrations)."""
    idle = database.keepalives_idle_seconds
    interval, count = max(1, idle // 3), 3
    args: dict[str, Any] = {"connect_timeout": database.connect_timeout_seconds, "keepalives": 1,
                            "keepalives_idle": idle, "keepalives_interval": interval, "keepalives_count": count,
                            "tcp_user_timeout": (idle + interval * count) * 1000}
    options = str(make_url(url).query.get("options") or "")
    timeout_ms = 0 if unlimited else int(database.statement_timeout_seconds * 1000)
    if timeout_ms or unlimited:
        options = f"{options} -c statement_timeout={timeout_ms}"
    if options.strip():
        args["options"] = options.strip()
    return args


def make_engine(url: str, database: DatabaseConfig | None = None, pool_size: int | None = None,
                max_overflow: int = 0) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout, PostgreSQL the timeouts
    of `database` (the defaults when None). `pool_size`: a small pool of its own (the health check's).

    `hide_parameters`: an SQL error (logged, or told to the creator) never carries the bound values,
    which are followers' messages.
    """
    database = database or DatabaseConfig()
    pool: dict[str, Any] = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": max_overflow,
                                                       "pool_timeout": 30 if max_overflow else 5}
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True,
                               **(pool if url not in ("sqlite://", "sqlite:///:memory:") else {}))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    connect_args = postgres_connect_args(url, database) if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args, **pool)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file (and its directory) readable by this user only; SQLite gives its
    -wal and -shm files the same mode."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return
    path = Path(url.removeprefix("sqlite:///"))
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        path.touch(mode=0o600)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def plain_update(entity: Any) -> Update:
    """An UPDATE that leaves objects already loaded in the session as they are (no Python-side
    evaluation of the criteria): the queue's hot statements touch rows no handler holds."""
    return update(entity).execution_options(synchronize_session=False)


def core(session: Session, stmt: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    """Run a Core statement built once (on a Table, its values bound as parameters) on the session's connection:
    the hot path's statements skip the ORM's execution, and their cache key is computed once. It does not flush
    the session's pending objects, and the creator scope does not reach it: such a statement names its rows by
    id or binds `creator_id` itself (bot/store/scope.py)."""
    return session.connection().execute(stmt, params)


def in_process(sessions: sessionmaker[Session]) -> bool:
    """Does the database live in this process (SQLite: one process, no round trip, nobody else's leases)?"""
    return bool(sessions.kw["bind"].dialect.name == "sqlite")


def dialect_insert(dialect: str) -> Any:
    """The INSERT of `dialect` that can say ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def conflict_insert(session: Session, entity: Any) -> Any:
    """INSERT into `entity`'s table in the session's own dialect, so that it can say ON CONFLICT (PostgreSQL
    and SQLite spell it alike). Rows of creator data name `creator_id` themselves (bot/store/scope.py)."""
    return dialect_insert(session.get_bind().dialect.name)(entity)


def make_sessionmaker(engine: Engine, creator_id: int) -> sessionmaker[Session]:
    """Sessions of one creator (bot/store/scope.py): every query they run is that creator's."""
    return creator_sessions(engine, creator_id)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error."""
    with factory() as session, session.begin():
        yield session


def migrated_sessions(url: str, creator_id: int = DEFAULT_CREATOR_ID) -> sessionmaker[Session]:
    """Upgrade the database at `url`, then return the sessions of one creator (CLI commands, the demo)."""
    upgrade(url)
    return make_sessionmaker(make_engine(url), creator_id)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


MIGRATION_LOCK = 7_201_001  # pg_advisory_lock key: one fleet member migrates, the others wait


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (creates the SQLite file if needed).

    On PostgreSQL the upgrade runs under an advisory lock, so processes starting together take
    turns: the first migrates, the others find the schema current.
    """
    _private_sqlite_file(url)
    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), revision)
        return
    # a database out of reach fails the start within the connect timeout; no statement timeout: the
    # lock waits for another process's migration, and a migration may take long
    engine = create_engine(url, connect_args=postgres_connect_args(url, DatabaseConfig(), unlimited=True))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(url), revision)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
    finally:
        engine.dispose()
