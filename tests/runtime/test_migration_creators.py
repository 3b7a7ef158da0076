"""Migration 0014 (creators) on a database of the previous release: the demo's database at revision 0013
(tests/data/demo-0013.db.gz, see tests/data/README.md) is migrated; every table keeps its rows, every row
becomes creator `default`'s (id 1), and the bot then answers as before."""

from __future__ import annotations

import gzip
import itertools
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, MetaData, create_engine, func, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import (
    ChannelPost,
    Comment,
    Creator,
    DirectMessage,
    FaqAnswer,
    FaqEntryRow,
    FaqExample,
    Follower,
    LiveModel,
    OutboxMessage,
    RawUpdate,
    Reminder,
    utcnow,
)
from bot.store.scope import fleet_sessions
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "demo-0013.db.gz"
QUESTION = "Which tripod do you use?"  # an example question of the demo FAQ (bot/demo_data/faq.yaml)
FOLLOWER = 777_001  # no follower of the demo


def old_database(tmp_path: Path) -> Path:
    path = tmp_path / "demo-0013.db"
    with gzip.open(FIXTURE, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    path.chmod(0o600)
    return path


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                        "AND name != 'alembic_version' ORDER BY name").fetchall()
    return [name for (name,) in rows]


def sqlite_rows(conn: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return sorted(conn.execute(f'SELECT {cols} FROM "{table}"').fetchall(), key=repr)


def columns_of(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")').fetchall()]


def counts_of(engine: Engine, tables: list[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def content(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """What the bot reads, through the sessions of creator 1."""
    with sessions() as s:
        return {
            "faq": {e.id: e.answer for e in s.scalars(select(FaqEntryRow))},
            "examples": sorted((x.id, x.entry_id, x.question, x.question_hash) for x in s.scalars(select(FaqExample))),
            "with_sentiment": s.scalar(select(func.count()).select_from(Comment).where(Comment.sentiment.is_not(None))),
            "dedupe_keys": set(s.scalars(select(RawUpdate.dedupe_key))),
            "followers": set(s.scalars(select(Follower.user_id))),
            "posts": {(p.chat_id, p.message_id) for p in s.scalars(select(ChannelPost))},
            "live": {m.kind: m.version for m in s.scalars(select(LiveModel))},
        }


def old_content(conn: sqlite3.Connection) -> dict[str, Any]:
    """The same, read from the 0013 schema (no creator_id, no models of its own) with plain SQL."""
    return {
        "faq": dict(conn.execute("SELECT id, answer FROM faq_entries").fetchall()),
        "examples": sorted(conn.execute("SELECT id, entry_id, question, question_hash FROM faq_examples").fetchall()),
        "with_sentiment": conn.execute("SELECT count(*) FROM comments WHERE sentiment IS NOT NULL").fetchone()[0],
        "dedupe_keys": {k for (k,) in conn.execute("SELECT dedupe_key FROM raw_updates")},
        "followers": {u for (u,) in conn.execute("SELECT user_id FROM followers")},
        "posts": set(conn.execute("SELECT chat_id, message_id FROM channel_posts").fetchall()),
        "live": dict(conn.execute("SELECT kind, version FROM live_models").fetchall()),
    }


def check_migrated(engine: Engine, counts: dict[str, int], before: dict[str, Any]) -> None:
    """The checks of both backends, on the database at head."""
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0015"
    assert set(counts) <= set(inspect(engine).get_table_names())
    migrated = counts_of(engine, list(counts))
    with engine.connect() as conn:  # 0015 links each sentiment alert to the authors of the comments it quotes
        alert_links = conn.execute(text(
            "SELECT count(*) FROM outbox_people p JOIN outbox o ON o.id = p.outbox_id "
            "WHERE o.purpose = 'sentiment-alert'")).scalar_one()
        quoted = conn.execute(text("SELECT params FROM outbox WHERE purpose = 'sentiment-alert'")).scalars().all()
    assert alert_links > 0 and quoted, "the demo's surge alerts quote comments"
    assert migrated == {**counts, "outbox_people": counts["outbox_people"] + alert_links}
    with engine.connect() as conn:
        others = {t: conn.execute(text(f'SELECT count(*) FROM "{t}" WHERE creator_id IS NULL OR creator_id != 1'))
                  .scalar_one() for t in counts}
    assert others == dict.fromkeys(counts, 0)
    with fleet_sessions(engine)() as s:
        creators = [(c.id, c.name, c.status) for c in s.scalars(select(Creator))]
    assert creators == [(1, "default", "active")]
    assert content(make_sessionmaker(engine, 1)) == before


def test_the_demo_database_of_0013_keeps_every_row(tmp_path: Path) -> None:
    path = old_database(tmp_path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0013",)]
        tables = sqlite_tables(conn)
        columns = {t: columns_of(conn, t) for t in tables}
        rows = {t: sqlite_rows(conn, t, columns[t]) for t in tables}
        before = old_content(conn)
    conn.close()
    counts = {t: len(r) for t, r in rows.items()}
    assert len(tables) == 33 and sum(counts.values()) > 6000  # the fixture is the whole demo
    assert before["faq"] and before["with_sentiment"] and before["dedupe_keys"]

    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    try:
        check_migrated(engine, counts, before)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as conn:  # every old column of every row, value for value (0015 adds alert links)
        alerts = {r[0] for r in conn.execute("SELECT id FROM outbox WHERE purpose = 'sentiment-alert'")}
        after = {t: sqlite_rows(conn, t, columns[t]) for t in tables}
        links = [r for r in after["outbox_people"] if r not in rows["outbox_people"]]
        assert links and {r[0] for r in links} <= alerts
        assert {**after, "outbox_people": [r for r in after["outbox_people"] if r not in links]} == rows
        assert not [t for t in sqlite_tables(conn) if t.endswith("_pre14")]
    conn.close()


async def test_the_bot_answers_the_demo_faq_after_the_migration(sandbox: BotApiSandbox, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine, 1)() as s:
            (entry_id,) = s.scalars(select(FaqExample.entry_id).where(FaqExample.question == QUESTION)).all()
            answer = s.scalars(select(FaqEntryRow.answer).where(FaqEntryRow.id == entry_id)).one()
            # the demo's follower asked it too, and the bot of 0013 answered with that entry
            assert s.scalars(select(FaqAnswer.entry_id).where(FaqAnswer.question == QUESTION)).all() == [entry_id]
            last_update = s.scalar(select(func.max(RawUpdate.update_id)))
            last_messages = last_message_ids(s)
    finally:
        engine.dispose()
    # This sandbox is new, the bot is not: Telegram's ids go on from where the demo left them (the bot
    # polls from the update after the last one it stored; a chat's message ids are never reused)
    sandbox._update_ids = itertools.count(int(last_update or 0) + 1)
    for chat_id, last in last_messages.items():
        sandbox._msg_ids[chat_id] = itertools.count(last + 1)

    # a new data directory: no model of the demo. The fake encoder confuses the demo's entries more than
    # MiniLM does (its threshold at 0.95 is 0.92, above every example question's 0.79-0.92): at 0.8 it is
    # 0.76, and unrelated questions stay below 0.4
    settings = settings_for(sandbox, url, tmp_path / "data", faq={"target_precision": 0.8})
    sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        assert bot.runtime.creator_id == 1
        await bot.settle()
        # the demo's live version is in the demo's data directory, not here: the bot trains one from the
        # migrated entries and examples at start (what `/retrain` does)
        model = bot.runtime.services.faq_model
        await wait_for(lambda: model.version is not None, 60, "the FAQ model trained from the migrated database")
        await bot.settle()
        sandbox.send_private(sandbox.user(FOLLOWER, "Zoe"), QUESTION)
        await bot.settle()
        assert bot.replies_to(FOLLOWER) == [answer]
        with bot.sessions() as s:  # the follower's question was stored for creator 1, after the demo's updates
            assert s.scalar(select(func.count()).select_from(RawUpdate).where(RawUpdate.update_id > last_update)) == 1


def last_message_ids(s: Session) -> dict[int, int]:
    """Per chat, the highest message id the database holds (messages in and out, posts, comments)."""
    last: dict[int, int] = {}
    for chat, message in (DirectMessage.chat_id, DirectMessage.message_id), \
            (OutboxMessage.chat_id, OutboxMessage.sent_message_id), (ChannelPost.chat_id, ChannelPost.message_id), \
            (Comment.chat_id, Comment.message_id):
        for chat_id, top in s.execute(select(chat, func.max(message)).group_by(chat)).all():
            if top is not None:
                last[int(chat_id)] = max(last.get(int(chat_id), 0), int(top))
    return last


def _aware(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


@pytest.mark.postgres
def test_the_demo_database_of_0013_on_postgres_keeps_every_row(pg_url: str, tmp_path: Path) -> None:
    """The same migration on PostgreSQL: the fixture's rows copied into a database at 0013, then upgraded."""
    from tests.conftest import _reset_pg

    _reset_pg(pg_url)
    path = old_database(tmp_path)
    with sqlite3.connect(path) as conn:
        before = old_content(conn)
    conn.close()
    upgrade(pg_url, "0013")
    source = create_engine(f"sqlite:///{path}")
    target = create_engine(pg_url)
    try:
        old, new = MetaData(), MetaData()
        old.reflect(source)
        new.reflect(target)
        tables = [t for t in new.sorted_tables if t.name != "alembic_version"]  # parents first
        assert sorted(t.name for t in tables) == sorted(t for t in old.tables if t != "alembic_version")
        for table in tables:
            for column in table.columns:  # SQL NULL stays NULL (not JSON null)
                if isinstance(column.type, JSON):
                    column.type = JSON(none_as_null=True)
        with source.connect() as src, target.begin() as dst:
            for table in reversed(tables):  # what the migrations wrote themselves (0010: model_forgets)
                dst.execute(table.delete())
            for table in tables:
                rows = [{k: _aware(v) for k, v in row.items()}
                        for row in src.execute(select(old.tables[table.name])).mappings()]
                if rows:
                    dst.execute(insert(table), rows)
        counts = counts_of(source, [t.name for t in tables])
        assert counts_of(target, list(counts)) == counts
    finally:
        source.dispose()
        target.dispose()

    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        check_migrated(engine, counts, before)
        sessions = make_sessionmaker(engine, 1)
        with sessions() as s, s.begin():  # the id sequences go on after the copied rows
            top = s.scalar(select(func.max(Reminder.id)))
            reminder = Reminder(chat_id=CREATOR_ID, text="after 0014", due_at=utcnow(), status="done")
            s.add(reminder)
            s.flush()
            assert reminder.id > top and reminder.creator_id == 1
    finally:
        engine.dispose()
