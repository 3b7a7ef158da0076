"""The chats of the other inboxes (a Business chat, a follower's topic of the channel's direct
messages): who is on the other side, whether the creator excluded it, when they last wrote in it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.store.models import InboxChat, utcnow


def inbox_chat(session: Session, inbox: str, chat_id: int, topic_id: int | None, *, user_id: int | None = None,
               connection_id: str | None = None) -> InboxChat:
    condition = InboxChat.topic_id.is_(None) if topic_id is None else InboxChat.topic_id == topic_id
    row = session.scalar(select(InboxChat).where(InboxChat.inbox == inbox, InboxChat.chat_id == chat_id, condition))
    if row is None:
        row = InboxChat(inbox=inbox, chat_id=chat_id, topic_id=topic_id, excluded=False)
        session.add(row)
    if user_id is not None:
        row.user_id = user_id
    if connection_id is not None:
        row.business_connection_id = connection_id
    session.flush()
    return row


def creator_wrote(chat: InboxChat, at: datetime) -> None:
    """The creator (or somebody answering for them) wrote in this chat at `at`: it is theirs for a while."""
    chat.creator_last_at = max(at, chat.creator_last_at or at)


def creator_active(settings: Settings, last_at: datetime | None) -> bool:
    """Did the creator write in this chat within `[inbox] creator_active_hours`? Then the bot leaves it to them."""
    hours = settings.inbox.creator_active_hours
    return last_at is not None and hours > 0 and utcnow() - last_at < timedelta(hours=hours)
