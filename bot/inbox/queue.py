"""One queue for the creator: handoffs and drafts from every inbox, newest first, with where each came
from; the modes of the inboxes; the chats the creator excluded; forgetting a person from a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.kernel.inboxes import INBOXES, SETTING_KEYS, inbox_label, inbox_mode
from bot.kernel.live_settings import change_settings
from bot.kernel.messages import BUSINESS
from bot.kernel.services import Services
from bot.store.models import BusinessConnection, FaqAnswer, Follower, Handoff, InboxChat

MODES = ("auto", "draft", "off")
ALIASES = {"bot": "bot", "bot_chat": "bot", "channel": "channel_dm", "channel_dm": "channel_dm", "dm": "channel_dm",
           "business": "business", "personal": "business"}


@dataclass(frozen=True)
class QueueItem:
    id: int
    kind: str  # handoff | draft
    inbox: str
    user_id: int
    name: str
    question: str
    suggestion: str | None
    reason: str
    created_at: datetime

    @property
    def where(self) -> str:
        return inbox_label(self.inbox)


def waiting(session: Session, limit: int = 50) -> list[QueueItem]:
    """Open handoffs and drafts from every inbox, newest first."""
    rows = list(session.scalars(select(Handoff).where(Handoff.status == "open")
                                .order_by(Handoff.created_at.desc(), Handoff.id.desc()).limit(limit)))
    names = {f.user_id: f for f in session.scalars(select(Follower).where(
        Follower.user_id.in_([h.user_id for h in rows])))} if rows else {}
    items = []
    for h in rows:
        f = names.get(h.user_id)
        name = (f"{f.first_name} (@{f.username})" if f.username else f.first_name) if f else str(h.user_id)
        items.append(QueueItem(h.id, h.kind, h.inbox, h.user_id, name, h.question or "", h.suggested_answer,
                               h.reason, h.created_at))
    return items


def waiting_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "open")) or 0)


def queue_text(session: Session, settings: Any, limit: int = 20) -> str:
    items = waiting(session, limit)
    lines = [texts.INBOX_HEADER.format(n=waiting_count(session)) if items else texts.INBOX_EMPTY]
    for item in items:
        lines.append(texts.INBOX_LINE.format(
            tag=texts.INBOX_TAGS.get(item.inbox, ""), id=item.id, kind=item.kind, name=texts.esc(texts.clip(item.name, 40)),
            question=texts.esc(texts.clip(item.question, 120))))
    lines.append("")
    lines.append(modes_text(settings))
    return "\n".join(lines)


def modes_text(settings: Any) -> str:
    return texts.INBOX_MODES.format(**{inbox: inbox_mode(settings, inbox) for inbox in INBOXES})


def set_mode(services: Services, session: Session, inbox: str, mode: str) -> str:
    """Change one inbox's mode (stored with the other settings changed in the chat). ValueError for a
    bad inbox or mode."""
    key = ALIASES.get(inbox.lower())
    if key is None or mode.lower() not in MODES:
        raise ValueError(texts.INBOX_MODE_USAGE)
    change_settings(services, session, {SETTING_KEYS[key]: mode.lower()})
    return texts.INBOX_MODE_SET.format(inbox=texts.esc(inbox_label(key)), mode=mode.lower())


def exclude_chat_of(session: Session, handoff_id: int) -> bool:
    """'Never answer here' under a Business draft: the chat it came from is left to the creator."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or handoff.inbox != BUSINESS:
        return False
    rows = list(session.scalars(select(InboxChat).where(InboxChat.inbox == BUSINESS,
                                                        InboxChat.chat_id == handoff.chat_id)))
    if not rows:
        rows = [InboxChat(inbox=BUSINESS, chat_id=handoff.chat_id, user_id=handoff.user_id,
                          business_connection_id=handoff.business_connection_id, excluded=False)]
        session.add(rows[0])
    for row in rows:
        row.excluded = True
    if handoff.status == "open" and handoff.kind == "draft":
        handoff.status = "closed"
    session.flush()
    return True


def excluded_chats(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(InboxChat.chat_id, Follower.first_name).outerjoin(
        Follower, Follower.user_id == InboxChat.user_id).where(InboxChat.excluded.is_(True))
        .order_by(InboxChat.chat_id)).all()
    return [(int(chat_id), name or str(chat_id)) for chat_id, name in rows]


def restore_chat(session: Session, chat_id: int) -> bool:
    rows = list(session.scalars(select(InboxChat).where(InboxChat.chat_id == chat_id, InboxChat.excluded.is_(True))))
    for row in rows:
        row.excluded = False
    return bool(rows)


def person_of(session: Session, handoff_id: int) -> int | None:
    handoff = session.get(Handoff, handoff_id)
    return handoff.user_id if handoff is not None else None


def questions_per_inbox(session: Session, since: datetime | None = None) -> dict[str, int]:
    """Questions (automatic answers, handoffs and drafts) per inbox."""
    counts = dict.fromkeys(INBOXES, 0)
    for model in (FaqAnswer, Handoff):
        stmt = select(model.inbox, func.count()).group_by(model.inbox)
        if since is not None:
            stmt = stmt.where(model.created_at >= since)
        for inbox, n in session.execute(stmt).all():
            counts[str(inbox)] = counts.get(str(inbox), 0) + int(n)
    return counts


def questions_per_week(session: Session, now: datetime, weeks: int = 8) -> tuple[list[datetime], dict[str, list[int]]]:
    """Questions per inbox in each of the last `weeks` weeks (oldest first): week starts, counts by inbox."""
    starts = [now - timedelta(days=7 * (weeks - i)) for i in range(weeks)]
    counts = {inbox: [0] * weeks for inbox in INBOXES}
    for model in (FaqAnswer, Handoff):
        for inbox, at in session.execute(select(model.inbox, model.created_at).where(model.created_at >= starts[0])):
            index = min(weeks - 1, int((at - starts[0]).total_seconds() // (7 * 86400)))
            counts.setdefault(str(inbox), [0] * weeks)[index] += 1
    return starts, counts


def connections(session: Session) -> list[BusinessConnection]:
    return list(session.scalars(select(BusinessConnection).order_by(BusinessConnection.connected_at)))
