"""Creator scope, structurally: every table of creator data has a creator column, and every query goes
through sessions that belong to one creator (bot/store/scope.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import delete, exists, func, inspect, select, update
from sqlalchemy.orm import aliased

from bot.store.db import make_engine, upgrade
from bot.store.models import Base, ChatDialog, Comment, Creator, Follower
from bot.store.scope import Unscoped, creator_sessions, fleet_sessions, owned_tables

ROOT = Path(__file__).resolve().parents[2]
NOT_CREATOR_DATA = {"creators", "alembic_version"}


def two_creators(url: str) -> tuple[int, int, object]:
    upgrade(url)
    engine = make_engine(url)
    with fleet_sessions(engine)() as s, s.begin():
        s.add_all([Creator(name="maya"), Creator(name="luca")])
    with fleet_sessions(engine)() as s:
        ids = {name: cid for name, cid in s.execute(select(Creator.name, Creator.id))}
    return ids["maya"], ids["luca"], engine


def test_every_table_of_creator_data_has_a_creator_column_first_in_its_natural_key(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names()) - NOT_CREATOR_DATA
    assert tables, "the migrations made no tables"
    for name in sorted(tables):
        columns = {c["name"]: c for c in inspect(engine).get_columns(name)}
        assert "creator_id" in columns, f"{name} holds creator data but has no creator_id column"
        assert not columns["creator_id"]["nullable"], f"{name}.creator_id may be NULL"
        keys = inspect(engine).get_pk_constraint(name)["constrained_columns"]
        assert keys == ["id"] or keys[0] == "creator_id" or keys[0].endswith("_id"), (name, keys)
    assert set(owned_tables()) == set(Base.metadata.tables) - NOT_CREATOR_DATA


def test_a_creators_session_reads_and_changes_only_that_creators_rows(db_url: str) -> None:
    maya, luca, engine = two_creators(db_url)
    for creator, name in ((maya, "Ana of maya"), (luca, "Ana of luca")):
        with creator_sessions(engine, creator)() as s, s.begin():  # type: ignore[arg-type]
            s.add(Follower(user_id=7, first_name=name))  # the same person, two creators: two rows
            s.add(ChatDialog(chat_id=7, kind="faq_add", data={}))
    with creator_sessions(engine, maya)() as s, s.begin():  # type: ignore[arg-type]
        assert [f.first_name for f in s.scalars(select(Follower))] == ["Ana of maya"]
        assert s.get(Follower, 7).first_name == "Ana of maya"
        assert s.scalar(select(func.count()).select_from(Follower)) == 1
        assert s.scalar(select(func.count(Follower.user_id))) == 1
        s.execute(update(Follower).values(first_name="renamed"))
        s.execute(delete(ChatDialog))
        assert s.scalars(select(Follower.user_id).where(
            Follower.user_id.in_(select(Follower.user_id)))).all() == [7]
    with creator_sessions(engine, luca)() as s:  # type: ignore[arg-type]
        assert s.get(Follower, 7).first_name == "Ana of luca"
        assert s.get(ChatDialog, 7) is not None  # maya's delete never reached luca's dialog
    with creator_sessions(engine, maya)() as s:  # type: ignore[arg-type]
        # a correlated subquery on another table and an aliased join are scoped too: luca's dialog with
        # chat 7 and luca's Ana are not maya's
        assert s.scalars(select(Follower.user_id).where(
            exists().where(ChatDialog.chat_id == Follower.user_id))).all() == []
        other = aliased(Follower)
        assert s.execute(select(Follower.first_name, other.first_name).join(
            other, other.user_id == Follower.user_id)).all() == [("renamed", "renamed")]


def test_a_session_of_no_creator_cannot_touch_creator_data(sqlite_url: str) -> None:
    _maya, _luca, engine = two_creators(sqlite_url)
    with fleet_sessions(engine)() as s:  # type: ignore[arg-type]
        assert len(s.scalars(select(Creator)).all()) == 3  # the placeholder `default` and two
        with pytest.raises(Unscoped):
            s.scalars(select(Comment)).all()
        with pytest.raises(Unscoped):
            s.execute(delete(Follower))
        s.add(Follower(user_id=1))
        with pytest.raises(Unscoped):
            s.flush()


BYPASSES = {"sessionmaker", "create_engine", "Session", "text"}
ALLOWED = {"bot/store/db.py", "bot/store/scope.py"}


def test_no_module_in_bot_makes_sessions_or_raw_sql_around_the_scoped_path() -> None:
    """Sessions come from bot.store.scope (through bot.store.db); nothing else in bot/ makes a session, an
    engine or raw SQL (migrations are history and run before any creator exists)."""
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED or "/migrations/" in rel:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        from_sqlalchemy = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                           and (node.module or "").startswith("sqlalchemy") for a in node.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in BYPASSES and (name in from_sqlalchemy or (isinstance(node.func, ast.Attribute)
                                                                     and name != "text")):
                    offenders.append(f"{rel}:{node.lineno}: {name}(...)")
            if isinstance(node, ast.Attribute) and node.attr in ("connection", "raw_connection"):
                offenders.append(f"{rel}:{node.lineno}: .{node.attr}")
    assert not offenders, "\n".join(offenders)


def test_the_hot_paths_core_statements_keep_to_their_creator(db_url: str) -> None:
    """The claims, the stored copies, the pace and the open-handoff check run as Core statements on the tables
    (no loader criteria): each binds its creator, so two creators with the same follower and chat never see
    each other's rows."""
    from datetime import timedelta

    from bot.faq.handoffs import open_handoff_for
    from bot.kernel.followers import store_message, upsert_follower
    from bot.kernel.messages import Person
    from bot.kernel.outbox import send_text
    from bot.store.models import DirectMessage, Handoff, SendPace
    from bot.store.outbox_queue import claim_outbox, pace_chat
    from bot.store.updates import claim_updates, store_raw_updates

    maya, luca, engine = two_creators(db_url)
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"},
                                          "from": {"id": 7, "is_bot": False, "first_name": "Ana"}, "text": "hi"}}
    for creator in (maya, luca):
        with creator_sessions(engine, creator)() as s, s.begin():  # type: ignore[arg-type]
            assert store_raw_updates(s, [update]) == 1  # the same update to two bots: one row each
            send_text(s, 7, f"hello from {creator}")
            upsert_follower(s, Person(id=7, first_name=f"Ana of {creator}"))
            store_message(s, user_id=7, chat_id=7, message_id=1, direction="in", text=f"to {creator}")
    with creator_sessions(engine, luca)() as s, s.begin():  # type: ignore[arg-type]
        s.add(Handoff(user_id=7, chat_id=7, question="?", reason="test", status="open"))
        pace_chat(s, 7, 10**10)  # luca may not write to chat 7 for a long while
    with creator_sessions(engine, maya)() as s, s.begin():  # type: ignore[arg-type]
        (row,) = claim_updates(s, "w", timedelta(minutes=1))
        assert row.creator_id == maya
        (out,) = claim_outbox(s, "w", timedelta(minutes=1))  # luca's pace is not maya's
        assert out.creator_id == maya and out.params["text"] == f"hello from {maya}"
        assert open_handoff_for(s, 7) is None  # luca's handoff is not maya's
        assert [m.text for m in s.scalars(select(DirectMessage))] == [f"to {maya}"]
        assert s.get(Follower, 7).first_name == f"Ana of {maya}"
        assert [p.chat_id for p in s.scalars(select(SendPace))] == []
    with creator_sessions(engine, luca)() as s, s.begin():  # type: ignore[arg-type]
        assert open_handoff_for(s, 7) is not None
        assert claim_outbox(s, "w", timedelta(minutes=1)) == []  # its chat's pace holds it back
        assert [r.creator_id for r in claim_updates(s, "w", timedelta(minutes=1))] == [luca]  # maya's claim is hers
