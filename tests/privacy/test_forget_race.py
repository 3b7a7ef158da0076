"""/forgetme racing the same follower's new message on another worker, on PostgreSQL (issue 31: 4): whichever
transaction comes first, nothing of theirs is left afterwards. Two real connections, the real intake, claim,
hold and forget; the handler's work stands in as the comment it would store."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.privacy.forget import forget_follower
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, Comment, RawUpdate, utcnow
from bot.store.updates import (
    GONE,
    MINE,
    claim_updates,
    finish_update,
    hold_update,
    store_raw_updates,
)
from tests.conftest import _reset_pg

pytestmark = pytest.mark.postgres
XENA, GROUP = 7330001, -1001000000002


def _comment(update_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Comments"},
        "from": {"id": XENA, "is_bot": False, "first_name": "Xena"}}}


def _queued(sessions: Any, update_id: int, text: str) -> int:
    with sessions() as s, s.begin():
        store_raw_updates(s, [_comment(update_id, text)])
    with sessions() as s, s.begin():
        (row,) = claim_updates(s, "worker-b", timedelta(minutes=1))
        return int(row.id)


def _handle(sessions: Any, raw_id: int, text: str, results: list[str], go_on: threading.Event | None = None) -> None:
    """Worker B: hold the update, store what its handler would, mark it done."""
    with sessions() as s, s.begin():
        held = hold_update(s, raw_id, "worker-b")
        results.append(held)
        if held != MINE:
            return
        s.add(Comment(chat_id=GROUP, message_id=raw_id, user_id=XENA, text=text, created_at=utcnow()))
        s.flush()
        if go_on is not None:
            go_on.wait(10)
        assert finish_update(s, raw_id, "worker-b")
    results.append("stored")


def test_an_update_waiting_while_forget_runs_is_dropped_and_one_handled_first_is_forgotten(pg_url: str) -> None:
    _reset_pg(pg_url)  # the session's database, emptied
    upgrade(pg_url)
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    try:
        # 1. forget first: worker B's comment waits on the lock, then finds its update deleted
        raw_id = _queued(sessions, 1, "wombat9931 first")
        results: list[str] = []
        with sessions() as s, s.begin():
            forget_follower(s, XENA)
            worker = threading.Thread(target=_handle, args=(sessions, raw_id, "wombat9931 first", results))
            worker.start()
            worker.join(1.0)
            assert worker.is_alive() and results == []  # waiting for the forget to commit
        worker.join(10)
        assert results == [GONE]

        # 2. the handler first: forget waits for it, then deletes what it stored
        raw_id = _queued(sessions, 2, "quokka5521 second")
        go_on, results = threading.Event(), []
        worker = threading.Thread(target=_handle, args=(sessions, raw_id, "quokka5521 second", results, go_on))
        worker.start()
        deadline = time.monotonic() + 10
        while not results and time.monotonic() < deadline:
            time.sleep(0.02)
        assert results[:1] == [MINE]
        forgetting = threading.Thread(target=lambda: _forget(sessions))
        forgetting.start()
        forgetting.join(1.0)
        assert forgetting.is_alive()  # it waits for the handler's transaction
        go_on.set()
        worker.join(10)
        forgetting.join(10)
        assert not forgetting.is_alive() and results == [MINE, "stored"]
        with sessions() as s:
            assert s.scalars(select(Comment.message_id)).all() == [raw_id]  # it was stored, then anonymised
            assert s.scalars(select(Comment.text).where(Comment.text.is_not(None))).all() == []
            assert s.scalars(select(Comment.user_id).where(Comment.user_id.is_not(None))).all() == []
            assert s.scalars(select(RawUpdate.id)).all() == []
    finally:
        engine.dispose()


def _forget(sessions: Any) -> None:
    with sessions() as s, s.begin():
        forget_follower(s, XENA)
