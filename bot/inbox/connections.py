"""Business connections: the creator connects the bot to their own account (Telegram Business →
Chatbots). Only an account of `[creator] user_ids` is accepted; any other is stored as refused, logged,
and nothing of its chats is ever read or answered."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.inboxes import inbox_mode
from bot.kernel.messages import BUSINESS, BusinessConnectionInfo
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from bot.store.models import BusinessConnection

log = logging.getLogger(__name__)


def on_connection(services: Services, session: Session, info: BusinessConnectionInfo) -> BusinessConnection:
    """Store a new, changed or ended connection; tell the creator what the bot may do now."""
    row = session.get(BusinessConnection, info.id)
    if row is None:
        row = BusinessConnection(id=info.id, user_id=info.user.id, user_chat_id=info.user_chat_id,
                                 connected_at=info.date)
        session.add(row)
    settings = services.settings
    accepted = settings.is_creator(info.user.id)
    was = (row.accepted, row.is_enabled, row.can_reply) if row.user_id is not None else None
    row.user_id, row.user_chat_id = info.user.id, info.user_chat_id
    row.is_enabled, row.can_reply, row.can_read_messages = info.is_enabled, info.can_reply, info.can_read_messages
    row.accepted = accepted
    session.flush()
    if not accepted:
        log.warning("business connection %s of user %s refused: not one of [creator] user_ids", info.id, info.user.id)
        return row
    if was == (True, row.is_enabled, row.can_reply):
        return row  # nothing the creator needs to hear about changed
    if not info.is_enabled:
        text = texts.BUSINESS_DISCONNECTED
    elif not info.can_reply:
        text = texts.BUSINESS_CONNECTED_NO_REPLY
    else:
        mode = inbox_mode(settings, BUSINESS)
        text = texts.BUSINESS_CONNECTED.format(mode=mode, what=texts.BUSINESS_WHAT[mode],
                                               hours=settings.inbox.creator_active_hours)
    send_text(session, info.user_chat_id, text)
    return row


def usable(session: Session, settings: Settings, connection_id: str | None) -> BusinessConnection | None:
    """The connection, if it is the creator's; None for an unknown or refused one. Ownership is checked against
    `[creator] user_ids` on every use, not only when it connected: an account removed from them since is
    refused from its next message on."""
    row = session.get(BusinessConnection, connection_id) if connection_id else None
    return row if row is not None and row.accepted and settings.is_creator(row.user_id) else None


def may_reply(row: BusinessConnection) -> bool:
    """The bot answers through a connection only while it is enabled and allowed to reply."""
    return bool(row.accepted and row.is_enabled and row.can_reply)
