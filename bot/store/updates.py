"""Raw updates: stored before they are confirmed, handled from the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.store.models import RawUpdate, UpdatePerson, utcnow


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


def store_raw_updates(session: Session, payloads: list[dict[str, Any]]) -> int:
    """Insert updates that are not stored yet, with the persons each is about (the index /forgetme
    uses); a redelivered update is ignored. Returns new rows."""
    rows = [
        {"update_id": int(p["update_id"]), "kind": update_kind(p), "payload": p,
         "received_at": utcnow(), "status": "pending"}
        for p in payloads
        if isinstance(p, dict) and isinstance(p.get("update_id"), int)
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (insert(RawUpdate).values(rows).on_conflict_do_nothing(index_elements=["update_id"])
            .returning(RawUpdate.update_id))
    new = {int(uid) for (uid,) in session.execute(stmt).all()}
    people = [{"update_id": r["update_id"], "user_id": pid} for r in rows if r["update_id"] in new
              for pid in sorted(people_in(r["payload"]))]
    if people:
        session.execute(insert(UpdatePerson).values(people).on_conflict_do_nothing())
    return len(new)


def next_offset(session: Session) -> int:
    top = session.scalar(select(func.max(RawUpdate.update_id)))
    return 0 if top is None else int(top) + 1


def pending_updates(session: Session, limit: int = 100) -> list[RawUpdate]:
    return list(session.scalars(
        select(RawUpdate).where(RawUpdate.status == "pending").order_by(RawUpdate.update_id).limit(limit)
    ))


def mark_update(session: Session, update_id: int, status: str, error: str | None = None) -> None:
    session.execute(
        update(RawUpdate).where(RawUpdate.update_id == update_id)
        .values(status=status, error=error, processed_at=utcnow())
    )
