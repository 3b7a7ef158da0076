"""Every inbox a creator has, as one queue: the bot's own chat, the channel's direct messages and the
creator's own chats (Telegram Business). What the features share about them: each inbox's mode, where
an answer goes (`messages.ReplyTarget`), and the question port through which an inbox hands a
follower's message to the FAQ (`Registry.answerer`), so the inbox feature never imports the FAQ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.messages import (
    BOT_CHAT,
    BUSINESS,
    CHANNEL_DM,
    INBOXES,
    IncomingMessage,
    ReplyTarget,
)
from bot.kernel.registry import Answerer
from bot.store.models import BusinessConnection

if TYPE_CHECKING:
    from bot.kernel.services import Services

AUTO, DRAFT, OFF = "auto", "draft", "off"
SETTING_KEYS = {BOT_CHAT: "inbox.bot_chat", CHANNEL_DM: "inbox.channel_dm", BUSINESS: "inbox.business"}


def inbox_mode(settings: Settings, inbox: str) -> str:
    """auto | draft | off for `inbox` (the config file's, or what the creator set with /inbox)."""
    modes = {BOT_CHAT: settings.inbox.bot_chat, CHANNEL_DM: settings.inbox.channel_dm,
             BUSINESS: settings.inbox.business}
    return modes.get(inbox, AUTO)


def inbox_label(inbox: str) -> str:
    return texts.INBOX_LABELS.get(inbox, inbox)


def target_open(session: Session, target: ReplyTarget) -> bool:
    """May the bot send there now? A Business chat only while the creator's connection is accepted,
    enabled and allowed to reply (a draft approved after the creator disconnected is not sent)."""
    if not target.business_connection_id:
        return True
    row = session.get(BusinessConnection, target.business_connection_id)
    return bool(row is not None and row.accepted and row.is_enabled and row.can_reply)


async def hand_to_answerer(services: Services, session: Session, message: IncomingMessage) -> bool:
    """Give a follower's message from any inbox to whoever answers questions (the FAQ); False when
    nobody registered to."""
    answerer = services.registry.answerer
    if answerer is None:
        return False
    await answerer(services, session, message)
    return True


__all__ = ["AUTO", "DRAFT", "INBOXES", "OFF", "Answerer", "hand_to_answerer", "inbox_label", "inbox_mode",
           "target_open"]
