"""Telling the creator about unexpected errors, once per kind per hour (no storms)."""

from __future__ import annotations

import traceback
from datetime import timedelta

from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.outbox import send_text
from bot.store.models import ErrorNotice, utcnow

QUIET_FOR = timedelta(hours=1)


def error_kind(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].name}" if frames else "?"
    return f"{type(exc).__name__}@{where}"[:200]


def describe(exc: BaseException) -> str:
    """What the creator is told about an error: never the bound values of an SQL statement (they are
    followers' messages), only the database's one-line reason."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        first = (str(exc.orig).strip().splitlines() or [""])[0]
        return f"database error ({type(exc.orig).__name__}): {first}"
    return str(exc) or type(exc).__name__


def notify_creator_once(session: Session, exc: BaseException, settings: Settings) -> bool:
    """Queue one notice to the creator unless this kind of error was reported in the last hour."""
    chat_id = settings.creator_chat_id
    kind = error_kind(exc)
    now = utcnow()
    notice = session.get(ErrorNotice, kind)
    if notice is not None:
        notice.count += 1
        if now - notice.last_notified_at < QUIET_FOR:
            return False
        notice.last_notified_at = now
    else:
        session.add(ErrorNotice(kind=kind, last_notified_at=now, count=1))
    if chat_id is None:
        return False
    send_text(session, chat_id, texts.ERROR_NOTICE.format(
        kind=texts.esc(kind), error=texts.esc(texts.clip(describe(exc), 300))),
        purpose="error")
    return True
