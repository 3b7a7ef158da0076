"""The creator's own chats (Telegram Business): messages in connected chats are stored with their
inbox, and a follower's question goes to the FAQ (by the inbox's mode, draft by default) only while the
connection is the creator's, enabled and allowed to reply, the chat is not excluded and the creator
has not written in it lately. The creator's own messages there are never questions."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.inbox.chats import creator_active, creator_wrote, inbox_chat
from bot.inbox.connections import may_reply, usable
from bot.kernel.chats import forget_current_update
from bot.kernel.followers import record_incoming, store_message
from bot.kernel.inboxes import hand_to_answerer
from bot.kernel.messages import BUSINESS, DeletedMessages, IncomingMessage
from bot.kernel.services import Services
from bot.store.models import DirectMessage, RawUpdate, UpdatePerson

log = logging.getLogger(__name__)
REFUSED = "a Business connection that is not the creator's"


def _record_outgoing(session: Session, message: IncomingMessage) -> None:
    """The creator's (or the bot's, for the account) message in the chat: kept as an outgoing message."""
    store_message(session, user_id=message.chat_id, chat_id=message.chat_id, message_id=message.message_id,
                  direction="out", content_type=message.content_type, text=message.text or message.caption,
                  created_at=message.date, inbox=BUSINESS, business_connection_id=message.business_connection_id,
                  from_creator=not message.sent_by_bot)


async def on_message(services: Services, session: Session, message: IncomingMessage) -> str:
    """A new message in a connected chat. Returns what became of it (for logs and tests)."""
    connection = usable(session, services.settings, message.business_connection_id)
    if connection is None:  # unknown or refused: nothing of that account's chats is kept, whatever the retention
        log.info("business message of unknown or refused connection %s ignored", message.business_connection_id)
        forget_current_update(session, REFUSED)
        return "refused"
    chat = inbox_chat(session, BUSINESS, message.chat_id, None, user_id=message.chat_id,
                      connection_id=connection.id)
    sender = message.from_user
    if sender is None or sender.id == connection.user_id or message.sent_by_bot:
        _record_outgoing(session, message)
        if not message.sent_by_bot:  # the creator wrote here themselves: the chat is theirs for a while
            creator_wrote(chat, message.date)
        return "outgoing"
    record_incoming(session, message)
    if not may_reply(connection):
        return "read-only"
    if chat.excluded:
        return "excluded"
    if creator_active(services.settings, chat.creator_last_at):
        return "creator-active"
    await hand_to_answerer(services, session, message)
    return "question"


def on_edited(session: Session, settings: Settings, message: IncomingMessage) -> int:
    """An edited message in a connected chat: the stored copy follows. Returns rows changed."""
    if usable(session, settings, message.business_connection_id) is None:
        forget_current_update(session, REFUSED)
        return 0
    rows = list(session.scalars(select(DirectMessage).where(
        DirectMessage.chat_id == message.chat_id, DirectMessage.message_id == message.message_id,
        DirectMessage.inbox == BUSINESS)))
    for row in rows:
        row.text = message.text or message.caption
        row.content_type = message.content_type
    return len(rows)


def on_deleted(session: Session, settings: Settings, deleted: DeletedMessages) -> int:
    """Messages deleted in a connected chat: gone from the database too (the stored message, and the
    text of the update that brought it). Returns stored messages removed."""
    if usable(session, settings, deleted.business_connection_id) is None:
        forget_current_update(session, REFUSED)
        return 0
    if not deleted.message_ids:
        return 0
    ids = list(deleted.message_ids)
    removed = len(session.execute(delete(DirectMessage).where(
        DirectMessage.chat_id == deleted.chat_id, DirectMessage.message_id.in_(ids), DirectMessage.inbox == BUSINESS)
        .returning(DirectMessage.id)).all())
    raw_ids = select(UpdatePerson.raw_id).where(UpdatePerson.user_id == deleted.chat_id)
    wanted = set(ids)
    for raw in session.scalars(select(RawUpdate).where(RawUpdate.id.in_(raw_ids),
                                                       RawUpdate.kind.in_(("business_message",
                                                                           "edited_business_message")))):
        body = raw.payload.get(raw.kind) if isinstance(raw.payload, dict) else None
        if isinstance(body, dict) and body.get("message_id") in wanted and \
                body.get("business_connection_id") == deleted.business_connection_id:
            raw.payload = {"update_id": raw.update_id, "deleted": "a message deleted in a Business chat"}
    return removed
