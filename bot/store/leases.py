"""Roles one process of the fleet holds at a time (the poller, the scheduler), as renewed leases.

A holder renews well before `expires_at`; a process that dies stops renewing and another one
takes the role over once the lease has run out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.store.db import conflict_insert
from bot.store.models import RuntimeLease, utcnow
from bot.store.scope import creator_of


def acquire(session: Session, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the role `name` for `holder`; False while another live holder has it."""
    now = now or utcnow()
    taken = session.execute(update(RuntimeLease).where(
        RuntimeLease.name == name, or_(RuntimeLease.holder == holder, RuntimeLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl))
    if taken.rowcount:  # type: ignore[attr-defined]
        return True
    inserted = session.execute(conflict_insert(session, RuntimeLease).values(creator_id=creator_of(session), name=name, holder=holder,
                                                         expires_at=now + ttl)
                               .on_conflict_do_nothing(index_elements=["creator_id", "name"]).returning(RuntimeLease.name))
    return inserted.first() is not None


def holder_of(session: Session, name: str, now: datetime | None = None) -> str | None:
    """Who holds the lease now (None when nobody, or the lease ran out)."""
    row = session.get(RuntimeLease, name)
    if row is None or row.expires_at < (now or utcnow()):
        return None
    return row.holder


def release(session: Session, name: str, holder: str) -> None:
    session.execute(delete(RuntimeLease).where(RuntimeLease.name == name, RuntimeLease.holder == holder))


def held_by(session: Session, holder: str) -> list[str]:
    return list(session.scalars(select(RuntimeLease.name).where(RuntimeLease.holder == holder)))
