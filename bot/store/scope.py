"""The one way to the data: sessions scoped to a creator.

A `CreatorSession` belongs to one creator (`creator_id`). Every ORM SELECT, UPDATE and DELETE it runs on a
table of creator data (`CreatorOwned`) gets `creator_id = <its creator>` added (SQLAlchemy's
`with_loader_criteria` on the `CreatorOwned` mixin, which reaches every such table in joins and subqueries
too), every new row it flushes gets its creator, and `get()` of a table keyed by (creator, key) takes the plain key. A session made without a
creator (`fleet_sessions`: the creators table, migrations) raises `Unscoped` on any statement that touches
creator data, so a query that forgets its creator fails at once instead of reading another creator's rows.

Core INSERTs that bypass the ORM's objects (`insert(Model).values(...)`) name `creator_id=creator_of(session)`
themselves; the column is NOT NULL and a foreign key to `creators`, so one that forgets fails too.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Engine, event, insert, inspect
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, sessionmaker, with_loader_criteria

from bot.store.models import Base, CreatorOwned

CREATOR = "creator_id"


class Unscoped(RuntimeError):
    """Creator data reached through a session that belongs to no creator."""


class CreatorSession(Session):
    """A session of one creator (`info["creator_id"]`); see the module's docstring."""

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if not isinstance(ident, tuple | dict) and _keyed_by_creator(entity):
            ident = (creator_of(self), ident)
        return super().get(entity, ident, **kwargs)


def creator_of(session: Session) -> int:
    """The creator a session belongs to; `Unscoped` when it belongs to none."""
    creator = session.info.get(CREATOR)
    if creator is None:
        raise Unscoped("this session belongs to no creator: use the creator's sessions (bot/store/scope.py)")
    return int(creator)


def creator_sessions(engine: Engine, creator_id: int) -> sessionmaker[Session]:
    """Sessions of one creator: the only sessions that read or write creator data."""
    return sessionmaker(engine, class_=CreatorSession, expire_on_commit=False, info={CREATOR: int(creator_id)})


def fleet_sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions of no creator: the creators table itself (and what is not creator data, if anything)."""
    return sessionmaker(engine, class_=CreatorSession, expire_on_commit=False)


def scoped(session: Session, stmt: Any) -> Any:
    """`stmt` with the session's creator applied, for the rare statement compiled by hand (`fetch_numbers`)."""
    return stmt.options(*_criteria(creator_of(session)))


def fetch_numbers(session: Session, stmt: Any, n: int) -> np.ndarray:
    """Run a numeric SELECT of the session's creator on the raw DB-API cursor: 100 k rows without building
    Row objects."""
    bind = session.connection()
    sql = scoped(session, stmt).compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    cursor = bind.connection.cursor()
    try:
        cursor.execute(str(sql))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return np.array(rows, dtype=float).reshape(-1, n)


def insert_row(session: Session, entity: Any, values: dict[str, Any]) -> int:
    """INSERT one row of `entity` (creator data: the session's creator) without an ORM object and return its id:
    a statement built once per table, run on the session's connection (bot/store/db.py `core`), which costs a
    fraction of an ORM flush. Objects added to the session before are flushed first, so rows land in the order
    the handler wrote them; column defaults apply as they do for objects."""
    session.flush()
    table = entity.__table__
    row = {CREATOR: creator_of(session), **values} if CREATOR in table.c else values
    key = session.connection().execute(_insert_of(table), row).inserted_primary_key
    assert key is not None
    return int(key[0])


@cache
def _insert_of(table: Any) -> Any:
    return insert(table)


def owned_tables() -> list[str]:
    return sorted(m.local_table.name for m in _owned_mappers())  # type: ignore[attr-defined]


@cache
def _owned_mappers() -> tuple[Mapper[Any], ...]:
    return tuple(m for m in Base.registry.mappers if issubclass(m.class_, CreatorOwned))


@cache
def _keyed_by_creator(entity: Any) -> bool:
    mapper = inspect(entity, raiseerr=False)
    if not isinstance(mapper, Mapper) or not issubclass(mapper.class_, CreatorOwned):
        return False
    keys = [c.name for c in mapper.primary_key]
    return len(keys) > 1 and keys[0] == CREATOR


@cache
def _criteria(creator: int) -> tuple[Any, ...]:
    # One option on the mixin reaches every mapped class of creator data, in joins, aliases and subqueries
    # alike; one option per table (33) cost about 100 µs more per statement in its cache key.
    return (with_loader_criteria(CreatorOwned, lambda cls: cls.creator_id == creator, include_aliases=True),)


def _touches_owned(mappers: Sequence[Mapper[Any]]) -> bool:
    return any(issubclass(m.class_, CreatorOwned) for m in mappers)


@event.listens_for(CreatorSession, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load or state.is_relationship_load:
        return
    creator = state.session.info.get(CREATOR)
    if creator is None:
        if _touches_owned(state.all_mappers):
            raise Unscoped("creator data read or changed through a session of no creator "
                           f"({', '.join(m.class_.__name__ for m in state.all_mappers)})")
        return
    state.statement = state.statement.options(*_criteria(int(creator)))


@event.listens_for(CreatorSession, "before_flush")
def _own_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    owned = [obj for obj in session.new if isinstance(obj, CreatorOwned)]
    if not owned:
        return
    creator = creator_of(session)
    for obj in owned:
        if obj.creator_id is None:
            obj.creator_id = creator
        elif obj.creator_id != creator:
            raise Unscoped(f"a {type(obj).__name__} of creator {obj.creator_id} added through creator {creator}'s session")
