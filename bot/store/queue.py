"""A table used as a work queue: claim, lease (renewed while the work runs), retry with back-off, dead
letter, done. One implementation, used by stored updates (`updates.py`) and outbox rows
(`outbox_queue.py`); reminders take the same row lock for the length of their own transaction
(`lock`), since a reminder's send is an outbox row written in that transaction.

A row is `pending` until a worker finishes it (`done`, or the table's own word such as `sent`) or
gives up on it (`dead`). A claim is a lease: `claimed_by` and `lease_until`. Every state change checks
that the claim is still the caller's, so a worker whose lease ran out (another took the row over)
changes nothing; `renew` extends the leases a worker still holds while its work runs.
On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so workers never wait on each other's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.store.db import core, plain_update
from bot.store.models import UTCDateTime, utcnow

PENDING, DONE, DEAD = "pending", "done", "dead"
ERROR_CHARS = 1000

Row = TypeVar("Row")
Stmt = TypeVar("Stmt", bound=Select)  # type: ignore[type-arg]


def lock(session: Session, stmt: Stmt, of: Any = None) -> Stmt:
    """`stmt` with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serves one process: no row locks)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=of)
    return stmt


@dataclass(frozen=True)
class WorkQueue(Generic[Row]):
    """The queue over `table`, whose rows have `id`, `status`, `attempts`, `claimed_by`, `lease_until`,
    a due time (`due`: not before it) and an error text (`error`)."""

    table: type[Row]
    due: InstrumentedAttribute[datetime]
    error: InstrumentedAttribute[str | None]
    _built: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def col(self, name: str) -> Any:
        return getattr(self.table, name)

    def _core(self, key: Any, build: Any) -> Any:
        """A hot statement built once, on the table (Core: no ORM on the way, about a third of the CPU of the
        same statement through the ORM), with its values bound when it runs. Every one names its rows by id,
        which is unique across creators, so it needs no creator scope."""
        stmt = self._built.get(key)
        if stmt is None:
            stmt = self._built[key] = build(self.table.__table__)  # type: ignore[attr-defined]
        return stmt

    def free(self, now: datetime | ColumnElement[datetime]) -> Any:
        """Pending, due, and nobody holds a live lease on it (`now`: a time, or a parameter bound when the
        statement runs)."""
        lease = self.col("lease_until")
        return (self.col("status") == PENDING) & (self.due <= now) & or_(lease.is_(None), lease < now)

    def free_core(self, t: Any, now: Any) -> Any:
        """`free` on the table `t` (or an alias of it), for Core statements."""
        return (t.c.status == PENDING) & (t.c[self.due.key] <= now) & or_(t.c.lease_until.is_(None),
                                                                           t.c.lease_until < now)

    def objects(self, rows: Any) -> list[Row]:
        """Rows a Core claim read, as objects of the table that belong to no session (the workers only read
        them and change the rows by statements; loading them through the ORM cost more than the claim)."""
        return [self.table(**row._mapping) for row in rows]

    def take(self, session: Session, worker: str, ids: Sequence[int], lease: timedelta,
             now: datetime | None = None) -> None:
        """Claim rows (picked inside this transaction) for `worker` until `now + lease`."""
        if ids:
            stmt = self._core("take", lambda t: update(t).where(t.c.id.in_(bindparam("ids", expanding=True))).values(
                claimed_by=bindparam("worker"), lease_until=bindparam("until", type_=UTCDateTime())))
            core(session, stmt, {"ids": list(ids), "worker": worker, "until": (now or utcnow()) + lease})

    def _held(self, row_id: int, worker: str) -> Any:
        return plain_update(self.table).where(self.col("id") == row_id, self.col("claimed_by") == worker,
                                              self.col("status") == PENDING)

    @staticmethod
    def _held_core(t: Any) -> Any:
        return update(t).where(t.c.id == bindparam("row_id"), t.c.claimed_by == bindparam("worker"),
                               t.c.status == PENDING)

    def renew(self, session: Session, worker: str, ids: Sequence[int], lease: timedelta) -> int:
        """Extend the leases `worker` still holds among `ids`; returns how many it still holds."""
        if not ids:
            return 0
        result = session.execute(
            plain_update(self.table).where(self.col("id").in_(list(ids)), self.col("claimed_by") == worker,
                                           self.col("status") == PENDING)
            .values(lease_until=utcnow() + lease))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def holds(self, session: Session, worker: str, row_id: int) -> bool:
        """Does `worker` still hold its claim on the row (a read: for one process on SQLite, whose leases
        nobody else takes, the check before a send needs no write)?"""
        stmt = self._core("holds", lambda t: select(t.c.id).where(
            t.c.id == bindparam("row_id"), t.c.claimed_by == bindparam("worker"), t.c.status == PENDING))
        return core(session, stmt, {"row_id": row_id, "worker": worker}).first() is not None

    def finish(self, session: Session, row_id: int, worker: str, status: str = DONE, *, attempt: bool = False,
               **values: Any) -> bool:
        """Done (or `status`), only while `worker` holds the claim; False: the claim was lost. `attempt`: count
        one more attempt; `values`: other columns to set (plain values)."""
        keys = tuple(sorted(values))

        def build(t: Any) -> Any:
            extra: dict[str, Any] = {k: bindparam(f"v_{k}", type_=t.c[k].type) for k in keys}
            if attempt:
                extra["attempts"] = t.c.attempts + 1
            return self._held_core(t).values(status=bindparam("status"), lease_until=None, **extra)

        params = {"row_id": row_id, "worker": worker, "status": status, **{f"v_{k}": v for k, v in values.items()}}
        return bool(core(session, self._core(("finish", keys, attempt), build), params).rowcount)

    def retry(self, session: Session, row_id: int, worker: str, delay: timedelta, error: str,
              counts: bool = True) -> int | None:
        """Back to the queue after `delay` (an attempt when `counts`); returns the attempts so far, or
        None when the claim was lost."""
        values: dict[str, Any] = {self.error.key: error[:ERROR_CHARS], self.due.key: utcnow() + delay,
                                  "lease_until": None, "claimed_by": None}
        if counts:
            values["attempts"] = self.col("attempts") + 1
        if not session.execute(self._held(row_id, worker).values(**values)).rowcount:  # type: ignore[attr-defined]
            return None
        return int(session.scalar(select(self.col("attempts")).where(self.col("id") == row_id)) or 0)

    def dead(self, session: Session, row_id: int, worker: str, error: str, counts: bool = True) -> bool:
        """Set aside for good (dead letter), only while `worker` holds the claim."""
        return self.finish(session, row_id, worker, DEAD, attempt=counts, **{self.error.key: error[:ERROR_CHARS]})

    def release(self, session: Session, worker: str, ids: Sequence[int] | None = None) -> None:
        """Hand back what `worker` claimed and did not finish (all of it, or `ids`)."""
        stmt = plain_update(self.table).where(self.col("claimed_by") == worker, self.col("status") == PENDING)
        if ids is not None:
            stmt = stmt.where(self.col("id").in_(list(ids)))
        session.execute(stmt.values(lease_until=None, claimed_by=None))

    def reclaim_abandoned(self, session: Session) -> int:
        """Hand back every claim on pending rows: for one process on SQLite at start-up, whose earlier run
        died holding them (a fleet lets leases run out instead). Returns how many."""
        result = session.execute(plain_update(self.table).where(
            self.col("status") == PENDING, or_(self.col("claimed_by").is_not(None), self.col("lease_until").is_not(None)))
            .values(lease_until=None, claimed_by=None))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def dead_letters(self, session: Session, limit: int = 5) -> tuple[int, list[Row]]:
        """How many rows were set aside for good, and the newest `limit` of them (with their reasons)."""
        dead = self.col("status") == DEAD
        count = session.scalar(select(func.count()).select_from(self.table).where(dead)) or 0
        rows = list(session.scalars(select(self.table).where(dead).order_by(self.col("id").desc()).limit(limit)))
        return int(count), rows

    def depth(self, session: Session) -> dict[str, int]:
        """Rows by status."""
        rows = session.execute(select(self.col("status"), func.count()).group_by(self.col("status"))).all()
        return {str(status): int(n) for status, n in rows}
