"""The creators a deployment serves (the `creators` table): seeded from the config, changed by
`creatorbot creators add|pause|resume|remove`, read by every running process (bot/runtime/deployment.py).

Sessions here belong to no creator (`fleet_sessions`): the creators table is the one table that is not
creator data. A creator's token is never stored: the row names the environment variable that holds it
(`token_env`); a token written in the config file stays in the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from bot.store.models import DEFAULT_CREATOR_ID, Base, Creator, CreatorOwned, utcnow
from bot.store.scope import creator_sessions

ACTIVE, PAUSED, PLACEHOLDER = "active", "paused", "placeholder"
DEFAULT_NAME = "default"  # the creator of a single-creator config (and of every row from before creators)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class UnknownCreator(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        listed = ", ".join(known) if known else "none yet"
        super().__init__(f'no creator named "{name}": the creators are {listed}')


@dataclass(frozen=True)
class CreatorRow:
    """A creator as the runtime and the CLI read it (detached from any session)."""

    id: int
    name: str
    token_env: str
    user_ids: tuple[int, ...]
    settings: dict[str, Any]
    status: str
    source: str
    down_reason: str | None
    down_since: datetime | None


def _row(c: Creator) -> CreatorRow:
    return CreatorRow(c.id, c.name, c.token_env, tuple(int(u) for u in c.user_ids or ()), dict(c.settings or {}),
                      c.status, c.source, c.down_reason, c.down_since)


def spec_settings(spec: Any) -> dict[str, Any]:
    """What a `bot.config.CreatorSpec` says beyond its name, token and user ids, as stored in `settings`."""
    out: dict[str, Any] = {}
    for key in ("inbox_chat_id", "language"):
        value = getattr(spec, key, None)
        if value:
            out[key] = value
    for table in ("channel", "inbox", "schedule"):
        value = getattr(spec, table, None)
        if value is not None:
            out[table] = {k: v for k, v in vars(value).items() if not k.endswith(("_clock", "_index"))}
    return out


def all_creators(session: Session, *, placeholders: bool = False) -> list[CreatorRow]:
    rows = session.scalars(select(Creator).order_by(Creator.id)).all()
    return [_row(c) for c in rows if placeholders or c.status != PLACEHOLDER]


def names(session: Session) -> list[str]:
    return [c.name for c in all_creators(session)]


def by_name(session: Session, name: str) -> CreatorRow:
    row = session.scalar(select(Creator).where(Creator.name == name))
    if row is None or row.status == PLACEHOLDER:
        raise UnknownCreator(name, names(session))
    return _row(row)


def ensure(session: Session, spec: Any | None, name: str, source: str = "config") -> int:
    """The id of the creator `name`, made if new (or woken from the placeholder `default` row); what the
    config says of it (`spec`: token variable, user ids, settings) is written to the row."""
    row = session.scalar(select(Creator).where(Creator.name == name))
    if row is None:
        row = Creator(name=name, source=source)
        session.add(row)
    if row.status == PLACEHOLDER:
        row.status = ACTIVE
    if spec is not None:
        row.token_env = getattr(spec, "token_env", "") or ""
        row.user_ids = [int(u) for u in getattr(spec, "user_ids", ())]
        row.settings = spec_settings(spec)
        if getattr(spec, "paused", False):
            row.status = PAUSED
    session.flush()
    return int(row.id)


def seed(session: Session, specs: list[Any]) -> list[int]:
    """Write the config's creators into the table (an existing row keeps its id and data); a placeholder
    `default` row the config does not name goes. Returns the ids, in the config's order."""
    ids = [ensure(session, spec, spec.name) for spec in specs]
    if DEFAULT_CREATOR_ID not in ids:
        session.execute(delete(Creator).where(Creator.id == DEFAULT_CREATOR_ID, Creator.status == PLACEHOLDER))
    return ids


TOKEN_FILE = "token_file"  # in a row's settings: the file a running process reads the creator's token from


def token_from_file(path: str) -> str:
    """The bot token in the file at `path` (read at every start of the creator: a file written after `creators add`
    is picked up without a restart); ValueError says what is wrong, never the file's content."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the token file {path}: {type(exc).__name__}: {getattr(exc, 'strerror', '')}"
                         .rstrip(": ")) from None
    if not re.match(r"^\d+:\S+$", token):
        raise ValueError(f"the token file {path} holds no bot token (one line such as 123456:ABC..., "
                         "from @BotFather)")
    return token


def add(session: Session, name: str, token_env: str, user_ids: list[int], token_file: str = "") -> int:
    """A new creator (the CLI's `creators add`): their token in the environment variable `token_env` of the running
    process, or in the file `token_file` (read at each start); ValueError says what is wrong."""
    if not NAME_RE.match(name):
        raise ValueError(f'"{name}" is not a creator name: use 1-32 lowercase letters, digits, "-" or "_"')
    existing = session.scalar(select(Creator).where(Creator.name == name))
    if existing is not None and existing.status != PLACEHOLDER:
        raise ValueError(f'a creator named "{name}" exists already (`creatorbot creators list`)')
    if token_file:
        if token_env:
            raise ValueError("name either --token-env or --token-file, not both")
        if not Path(token_file).is_absolute():
            raise ValueError(f"{token_file}: give the token file's absolute path (the running bot reads it)")
    elif not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", token_env):
        raise ValueError(f'"{token_env}" is not an environment variable name: use e.g. CREATORBOT_TOKEN_{name.upper()}')
    if not user_ids:
        raise ValueError("name the creator's Telegram user id with --user-id (the bot answers their commands only)")
    creator_id = ensure(session, None, name, source="cli")
    row = session.get(Creator, creator_id)
    assert row is not None
    extra = {**(row.settings or {}), TOKEN_FILE: token_file} if token_file else \
        {k: v for k, v in (row.settings or {}).items() if k != TOKEN_FILE}
    session.execute(update(Creator).where(Creator.id == creator_id).values(
        token_env=token_env, user_ids=[int(u) for u in user_ids], status=ACTIVE, settings=extra, updated_at=utcnow()))
    return creator_id


def set_status(session: Session, name: str, status: str) -> None:
    row = by_name(session, name)
    session.execute(update(Creator).where(Creator.id == row.id).values(status=status, updated_at=utcnow()))


def mark_down(session: Session, creator_id: int, reason: str | None) -> None:
    """Why the runtime serves this creator's bot no more for now (None: it answers again)."""
    session.execute(update(Creator).where(Creator.id == creator_id).values(
        down_reason=reason, down_since=utcnow() if reason else None))


def data_counts(engine: Engine, creator_id: int) -> dict[str, int]:
    """How many rows of each table are this creator's (what `creators remove` deletes)."""
    counts: dict[str, int] = {}
    with creator_sessions(engine, creator_id)() as session:
        for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
            if issubclass(mapper.class_, CreatorOwned):
                n = int(session.scalar(select(func.count()).select_from(mapper.class_)) or 0)
                if n:
                    counts[mapper.local_table.name] = n  # type: ignore[attr-defined]
    return counts


def remove(session: Session, name: str) -> int:
    """Delete the creator and, through ON DELETE CASCADE, every row of theirs; returns their id."""
    row = by_name(session, name)
    session.execute(delete(Creator).where(Creator.id == row.id))
    return row.id


def creator_id_of(engine: Engine, name: str, *, create: bool = False, spec: Any | None = None) -> int:
    """The id of the creator `name` (`create`: made if new, e.g. `default` on a fresh database before the bot
    ever ran); UnknownCreator otherwise."""
    from bot.store.scope import fleet_sessions

    with fleet_sessions(engine)() as session, session.begin():
        if create:
            return ensure(session, spec, name)
        return by_name(session, name).id
