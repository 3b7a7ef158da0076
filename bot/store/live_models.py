"""The live version of each model, shared by every worker through the database.

Repository functions: they take a session and never commit (the caller owns the transaction).
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.store.models import LiveModel, utcnow

FAQ = "faq"


def live_version(session: Session, kind: str) -> str | None:
    """The published version of `kind` (None: never published through the database)."""
    row = session.get(LiveModel, kind, populate_existing=True)
    return None if row is None else row.version


def publish_version(session: Session, kind: str, version: str) -> None:
    """Make `version` the live one of `kind` for the whole fleet (one row, replaced)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LiveModel).values(kind=kind, version=version, published_at=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=["kind"], set_={"version": stmt.excluded.version, "published_at": stmt.excluded.published_at}))


def withdraw(session: Session, kind: str) -> None:
    """No version of `kind` is live any more (every one was deleted)."""
    session.execute(delete(LiveModel).where(LiveModel.kind == kind))
