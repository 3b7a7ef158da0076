"""Raw updates: stored before they are confirmed, then claimed and handled from the database.

The table is the only queue. A worker claims the oldest pending update of a chat (and the chat's
next few), with a lease; nobody else takes a chat's later updates while an earlier one is pending,
so each chat is handled in `update_id` order whichever worker runs it. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`; SQLite (one process) needs no row locks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from bot.store.db import core, dialect_insert, plain_update
from bot.store.models import RawUpdate, UpdatePerson, UTCDateTime, utcnow
from bot.store.queue import DONE, PENDING, WorkQueue, lock
from bot.store.scope import creator_of

SKIPPED = "skipped"  # malformed: stored, never handled
UPDATES = WorkQueue(RawUpdate, RawUpdate.not_before, RawUpdate.error)


def update_kind(payload: dict[str, Any]) -> str:
    return next((k for k in payload if k != "update_id"), "empty")[:40]


def people_in(payload: Any) -> set[int]:
    """Ids of the persons (non-bot users and private chats) anywhere in an update."""
    found: set[int] = set()
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            pid = value.get("id")
            if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and (
                    ("first_name" in value and value.get("is_bot") is not True) or value.get("type") == "private"):
                found.add(pid)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def dedupe_key(payload: dict[str, Any]) -> str:
    """Same update delivered twice -> same key; a reused `update_id` with new content -> a new key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def chat_key(payload: dict[str, Any], linked: Mapping[int, int] | None = None) -> int:
    """The chat whose order this update belongs to (0: updates without a chat).

    `linked` maps a chat onto the one it is ordered with: the channel onto its discussion group, so
    a post, its automatic forward and the comments under it are handled in `update_id` order even
    when a worker dies holding the post.
    """
    key = _own_chat(payload)
    return (linked or {}).get(key, key)


def _own_chat(payload: dict[str, Any]) -> int:
    body = payload.get(update_kind(payload))
    if not isinstance(body, dict):
        return 0
    for holder in (body, body.get("message")):
        chat = holder.get("chat") if isinstance(holder, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    sender = body.get("from")
    if isinstance(sender, dict) and isinstance(sender.get("id"), int):
        return int(sender["id"])
    return 0


def store_raw_updates(session: Session, payloads: list[dict[str, Any]],
                      linked: Mapping[int, int] | None = None) -> int:
    """Insert updates that are not stored yet, with the persons each is about (the index /forgetme
    uses); a redelivered update is ignored. Returns new rows.

    `linked`: see `chat_key`.
    """
    now, creator = utcnow(), creator_of(session)
    rows = [
        {"creator_id": creator, "update_id": int(p["update_id"]), "dedupe_key": dedupe_key(p), "chat_key": chat_key(p, linked),
         "kind": update_kind(p), "payload": p, "received_at": now, "status": PENDING,
         "attempts": 0, "not_before": now}
        for p in payloads
        if isinstance(p, dict) and isinstance(p.get("update_id"), int)
    ]
    if not rows:
        return 0
    insert_updates, insert_people = _store_statements(session.get_bind().dialect.name)
    new = {str(key): int(raw_id) for raw_id, key in core(session, insert_updates, rows).all()}
    people = [{"creator_id": creator, "raw_id": new[r["dedupe_key"]], "user_id": pid} for r in rows if r["dedupe_key"] in new
              for pid in sorted(people_in(r["payload"]))]
    if people:
        core(session, insert_people, people)
    return len(new)


@cache
def _store_statements(dialect: str) -> tuple[Any, Any]:
    """Built once per dialect (Core, bot/store/db.py `core`): the updates, and the persons each is about."""
    insert = dialect_insert(dialect)
    table = RawUpdate.__table__
    updates = (insert(table).on_conflict_do_nothing(index_elements=["creator_id", "dedupe_key"])
               .returning(table.c.id, table.c.dedupe_key))
    return updates, insert(UpdatePerson.__table__).on_conflict_do_nothing()


def next_offset(session: Session) -> int:
    """The `getUpdates` offset after the most recently stored update (ids may restart lower)."""
    last = session.scalar(select(RawUpdate.update_id).order_by(RawUpdate.id.desc()).limit(1))
    return 0 if last is None else int(last) + 1


def pending_updates(session: Session, limit: int = 100) -> list[RawUpdate]:
    return list(session.scalars(
        select(RawUpdate).where(RawUpdate.status == PENDING).order_by(RawUpdate.update_id, RawUpdate.id)
        .limit(limit)))


@cache
def _claim_statements() -> tuple[Any, Any, Any]:
    """Built once, on the table (Core: an aliased entity and its subquery cost more CPU to build than the query
    takes to run, and loading the rows through the ORM about half as much again): the chats' heads, their
    following updates, the claimed rows. `creator_id` is bound with the rest."""
    t = RawUpdate.__table__
    older = t.alias("older")
    now, creator = bindparam("now", type_=UTCDateTime()), bindparam("creator_id", type_=Integer())
    head = (select(t.c.id, t.c.chat_key)
            .where(t.c.creator_id == creator, UPDATES.free_core(t, now),
                   ~exists().where(older.c.creator_id == t.c.creator_id, older.c.chat_key == t.c.chat_key,
                                   older.c.status == PENDING,
                                   or_(older.c.update_id < t.c.update_id,
                                       and_(older.c.update_id == t.c.update_id, older.c.id < t.c.id))))
            .order_by(t.c.update_id, t.c.id).limit(bindparam("chats", type_=Integer())))
    following = (select(t.c.id)
                 .where(t.c.creator_id == creator, t.c.chat_key.in_(bindparam("keys", expanding=True)),
                        UPDATES.free_core(t, now), t.c.id.not_in(bindparam("heads", expanding=True)))
                 .order_by(t.c.update_id, t.c.id).limit(bindparam("more", type_=Integer())))
    rows = select(t).where(t.c.id.in_(bindparam("ids", expanding=True))).order_by(t.c.update_id, t.c.id)
    return head, following, rows


def claim_updates(session: Session, worker: str, lease: timedelta, chats: int = 20,
                  per_chat: int = 10, now: datetime | None = None) -> list[RawUpdate]:
    """Claim the next updates of up to `chats` chats for `worker`; call inside a transaction.

    Returns them in `update_id` order. Only a chat's oldest pending update can be picked, and only
    when nobody holds a live lease on it; the chat's following updates come along with it.
    """
    now = now or utcnow()
    head, following, rows = _claim_statements()
    creator = creator_of(session)
    heads = core(session, lock(session, head), {"creator_id": creator, "now": now, "chats": chats}).all()
    if not heads:
        return []
    ids = [h.id for h in heads]
    ids += core(session, following, {"creator_id": creator, "now": now, "keys": sorted({h.chat_key for h in heads}),
                                     "heads": ids, "more": chats * per_chat}).scalars().all()
    UPDATES.take(session, worker, ids, lease, now)
    return UPDATES.objects(core(session, rows, {"ids": ids}))


def finish_update(session: Session, row_id: int, worker: str, status: str = DONE,
                  error: str | None = None) -> bool:
    """Mark a claimed update handled (in the handler's transaction). False: the claim was lost.

    An update its own handler erased (/forgetme deletes the follower's raw updates) counts as handled.
    """
    if UPDATES.finish(session, row_id, worker, status, error=error, processed_at=utcnow()):
        return True
    return session.scalar(select(RawUpdate.id).where(RawUpdate.id == row_id)) is None


def mark_update(session: Session, update_id: int, status: str, error: str | None = None) -> None:
    """Set the status of every pending row with `update_id` (tools and tests; workers use claims)."""
    session.execute(
        plain_update(RawUpdate).where(RawUpdate.update_id == update_id, RawUpdate.status == PENDING)
        .values(status=status, error=error, processed_at=utcnow())
    )


def queue_depth(session: Session, now: datetime | None = None) -> tuple[int, float]:
    """(pending updates, age in seconds of the oldest one)."""
    count, oldest = session.execute(select(func.count(), func.min(RawUpdate.received_at))
                                    .where(RawUpdate.status == PENDING)).one()
    age = ((now or utcnow()) - oldest).total_seconds() if oldest is not None else 0.0
    return int(count or 0), max(0.0, age)


def has_pending(session: Session) -> bool:
    """Is any update waiting (due or not)? An idle processor polls less often when none is."""
    return session.scalar(select(RawUpdate.id).where(RawUpdate.status == PENDING).limit(1)) is not None


# ------------------------------------------------------------------------------ one person at a time
PERSON_LOCKS = 7_201_002  # pg_advisory_xact_lock(namespace + creator, person): /forgetme against that person's work


def lock_person(session: Session, user_id: int) -> None:
    """Hold the person's lock until the transaction ends (PostgreSQL; on SQLite the one writer already
    serialises transactions): /forgetme takes it before it deletes anything."""
    lock_people(session, [user_id])


def lock_people(session: Session, user_ids: Iterable[int]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    creator = creator_of(session)
    for user_id in sorted(set(user_ids)):  # always in the same order: two holders never wait on each other
        session.execute(select(func.pg_advisory_xact_lock(PERSON_LOCKS + creator, user_id % 2_147_483_647)))


MINE, GONE, LOST = "mine", "gone", "lost"


def hold_update(session: Session, row_id: int, worker: str) -> str:
    """Before an update is handled: lock everyone it is from or about (`update_people`), then check the
    row is still this worker's: MINE; GONE (a /forgetme on another worker deleted it while this one
    waited: the handler must not run, or it would store again what was forgotten); LOST (another worker
    took the claim over)."""
    if session.get_bind().dialect.name != "postgresql":
        return MINE
    lock_people(session, session.scalars(select(UpdatePerson.user_id).where(UpdatePerson.raw_id == row_id)))
    if UPDATES.holds(session, worker, row_id):
        return MINE
    return GONE if session.scalar(select(RawUpdate.id).where(RawUpdate.id == row_id)) is None else LOST
