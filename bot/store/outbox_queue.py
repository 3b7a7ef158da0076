"""The outbox as a queue for a fleet of senders: claims, leases and a shared send pace.

A sender claims only the oldest pending row of each chat, and only once the chat's pace allows the
next message, so a chat's messages go out in order and no faster than its limit, whichever process
sends them. The fleet-wide rate is a shared "next free slot" (chat 0) that senders reserve in batches.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Float, Integer, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from bot.store.db import core, dialect_insert
from bot.store.models import OutboxMessage, SendPace, UTCDateTime, utcnow
from bot.store.queue import PENDING, WorkQueue, lock
from bot.store.scope import creator_of

SENT = "sent"  # the outbox's word for done
OUTBOX = WorkQueue(OutboxMessage, OutboxMessage.next_attempt_at, OutboxMessage.last_error)
EVERY_CHAT = 0  # the SendPace row of the fleet-wide limit


@cache
def _claim_statement() -> Any:
    """Built once, on the tables (Core: an aliased entity and its subqueries cost about 1 ms of CPU to build per
    call, more than the query takes to run, and loading the rows through the ORM about half as much again;
    `creator_id`, `now`, `now_ts` and `limit` are bound when it runs)."""
    t, pace = OutboxMessage.__table__, SendPace.__table__
    older = t.alias("older")
    now = bindparam("now", type_=UTCDateTime())
    return (select(t)
            .where(t.c.creator_id == bindparam("creator_id"), OUTBOX.free_core(t, now),
                   ~exists().where(older.c.creator_id == t.c.creator_id, older.c.chat_id == t.c.chat_id,
                                   older.c.status == PENDING, older.c.id < t.c.id),
                   ~exists().where(pace.c.creator_id == t.c.creator_id, pace.c.chat_id == t.c.chat_id,
                                   pace.c.next_at > bindparam("now_ts", type_=Float())))
            .order_by(t.c.id).limit(bindparam("limit", type_=Integer())))


def claim_outbox(session: Session, worker: str, lease: timedelta, limit: int = 50,
                 now: datetime | None = None) -> list[OutboxMessage]:
    """Claim the head row of up to `limit` chats that may be sent to now (inside a transaction)."""
    now = now or utcnow()
    stmt = lock(session, _claim_statement(), of=OutboxMessage.__table__)
    rows = OUTBOX.objects(core(session, stmt, {"creator_id": creator_of(session), "now": now,
                                               "now_ts": now.timestamp(), "limit": limit}))
    OUTBOX.take(session, worker, [r.id for r in rows], lease, now)
    return rows


def _pace_statement(dialect: str) -> Any:
    """Built once per dialect (it runs for every message sent): next_at = max(next_at, floor) + add."""
    greatest = func.greatest if dialect == "postgresql" else func.max
    table = SendPace.__table__
    floor, add = bindparam("floor", type_=Float()), bindparam("add", type_=Float())
    stmt = dialect_insert(dialect)(table).values(creator_id=bindparam("creator_id"), chat_id=bindparam("chat_id"),
                                                 next_at=bindparam("first", type_=Float()))
    return stmt.on_conflict_do_update(index_elements=["creator_id", "chat_id"],
                                      set_={"next_at": greatest(table.c.next_at, floor) + add}).returning(table.c.next_at)


def _upsert_pace(session: Session, chat_id: int, floor: float, add: float) -> float:
    """next_at = max(next_at, floor) + add (a new row: floor + add); returns the new next_at."""
    got = core(session, _pace_statement(session.get_bind().dialect.name), {
        "creator_id": creator_of(session), "chat_id": chat_id, "first": floor + add, "floor": floor, "add": add}).scalar()
    return float(got or floor + add)


def reserve_slots(session: Session, count: int, gap: float, now: float) -> float:
    """Reserve `count` fleet-wide send slots `gap` seconds apart; returns the first slot's time.

    Row-locked on PostgreSQL, so concurrent senders get disjoint slots.
    """
    if count <= 0:
        return now
    return _upsert_pace(session, EVERY_CHAT, now, count * gap) - count * gap


def pace_chat(session: Session, chat_id: int, not_before: float) -> None:
    """No message to `chat_id` before `not_before` (seconds since the epoch)."""
    _upsert_pace(session, chat_id, not_before, 0.0)


def mark_sent(session: Session, row_id: int, worker: str, message_id: int | None) -> bool:
    """Sent (False: our claim was lost; whoever holds it now decides)."""
    return OUTBOX.finish(session, row_id, worker, SENT, attempt=True, sent_at=utcnow(), sent_message_id=message_id)


def delete_sent(session: Session, row_id: int) -> None:
    """A sent row that must leave no trace (the /forgetme confirmation)."""
    session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))


def prune_paces(session: Session, before: float) -> int:
    """Forget the pace of chats nothing was sent to lately (the table would grow with every chat)."""
    return len(session.execute(delete(SendPace).where(SendPace.chat_id != EVERY_CHAT, SendPace.next_at < before)
                               .returning(SendPace.chat_id)).all())


def forget_pace(session: Session, chat_id: int) -> None:
    session.execute(delete(SendPace).where(SendPace.chat_id == chat_id))


def move_chat(session: Session, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: its pending rows follow it to the new chat id."""
    rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == old_chat_id,
                                                            OutboxMessage.status == PENDING)))
    for row in rows:
        row.chat_id = new_chat_id
        if isinstance(row.params, dict) and row.params.get("chat_id") == old_chat_id:
            row.params = {**row.params, "chat_id": new_chat_id}
        row.lease_until = None
    return len(rows)


def outbox_depth(session: Session) -> dict[str, int]:
    return OUTBOX.depth(session)


def has_pending(session: Session) -> bool:
    """Is any message waiting (due or not)? An idle sender polls less often when none is."""
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == PENDING).limit(1)) is not None
