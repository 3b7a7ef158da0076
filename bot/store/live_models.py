"""The live version of each model, shared by every worker through the database, and the count of
forgets that decides whether a version trained a moment ago may still be published.

Repository functions: they take a session and never commit (the caller owns the transaction).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.store.db import conflict_insert
from bot.store.models import LiveModel, ModelForgets, utcnow
from bot.store.scope import creator_of

FAQ = "faq"


def live_version(session: Session, kind: str) -> str | None:
    """The published version of `kind` (None: never published through the database)."""
    row = session.get(LiveModel, kind, populate_existing=True)
    return None if row is None else row.version


def forget_generation(session: Session, kind: str) -> int:
    """How many times /forgetme removed training examples of `kind`. A training reads it *before*
    its examples and hands it to `publish_version`."""
    return int(session.scalar(select(ModelForgets.generation).where(ModelForgets.kind == kind)) or 0)


def count_forget(session: Session, kind: str) -> None:
    """Training examples of `kind` were removed in this transaction: versions trained on what was
    read before it commits are not published. On PostgreSQL the row stays locked until the commit."""
    stmt = conflict_insert(session, ModelForgets).values(creator_id=creator_of(session), kind=kind, generation=1)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["creator_id", "kind"], set_={"generation": ModelForgets.generation + 1}))


def _still_at(session: Session, kind: str, generation: int) -> bool:
    """Was no example of `kind` forgotten since `generation`? A write, so that the answer holds until
    the commit: PostgreSQL locks the row (and waits for a forget that changed it and has not
    committed, then sees its change); SQLite takes the database's write lock."""
    touched = session.execute(update(ModelForgets).where(
        ModelForgets.kind == kind, ModelForgets.generation == generation)
        .values(generation=ModelForgets.generation))
    if touched.rowcount:  # type: ignore[attr-defined]
        return True
    return generation == 0 and forget_generation(session, kind) == 0  # no forget recorded yet


def publish_version(session: Session, kind: str, version: str, trained_at_generation: int | None = None) -> bool:
    """Make `version` the live one of `kind` for the whole fleet (one row, replaced).

    With `trained_at_generation` (what `forget_generation` said before the training read its
    examples), nothing is published when an example was forgotten since: returns False, and the
    version must be deleted and trained again."""
    if trained_at_generation is not None and not _still_at(session, kind, trained_at_generation):
        return False
    stmt = conflict_insert(session, LiveModel).values(creator_id=creator_of(session), kind=kind, version=version, published_at=utcnow())
    session.execute(stmt.on_conflict_do_update(
        index_elements=["creator_id", "kind"], set_={"version": stmt.excluded.version, "published_at": stmt.excluded.published_at}))
    return True


def withdraw(session: Session, kind: str) -> None:
    """No version of `kind` is live any more (every one was deleted)."""
    session.execute(delete(LiveModel).where(LiveModel.kind == kind))
