"""Which chats count: the configured channel, its discussion group, the inbox and private chats.

A chat the creator added the bot to waits for setup (the creator is offered to use it; see
bot/setup/checklist.py): nothing from it is stored meanwhile. Any other chat (someone added the bot
to their own group or channel) is left, and nothing but a log line is kept.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.kernel.outbox import leave_chat
from bot.kernel.unit import current_raw_id
from bot.store.models import KnownChat, RawUpdate, UpdatePerson, utcnow

log = logging.getLogger(__name__)
PRESENT = frozenset({"administrator", "creator", "member", "restricted"})  # the bot is in the chat
DIRECT_MESSAGES = "direct_messages"  # KnownChat.type of a channel's direct-messages chat
RECHECK_RIGHTS = timedelta(minutes=10)  # a direct-messages chat the bot could not manage is checked again after


def configured_chats(settings: Settings) -> set[int]:
    ids = {settings.channel.id, settings.channel.discussion_group_id, settings.creator.inbox_chat_id}
    return {i for i in ids if i}


def is_known_chat(settings: Settings, chat_id: int, chat_type: str) -> bool:
    return chat_type == "private" or chat_id in configured_chats(settings)


def awaits_setup(session: Session, chat_id: int) -> bool:
    """The creator added the bot here and may still choose it as the channel, group or inbox."""
    row = session.get(KnownChat, chat_id)
    return row is not None and row.bot_status in PRESENT


def forget_foreign_update(session: Session, raw_id: int | None, update_id: int, chat_id: int) -> None:
    """Keep only that the update came (its id, so it is never handled twice), none of its content."""
    _keep_only_the_id(session, raw_id, "a chat that is not configured")
    log.info("update %s came from chat %s, which is not configured: not stored", update_id, chat_id)


def forget_current_update(session: Session, why: str) -> None:
    """The update being handled keeps its id and kind only (it came from somewhere whose words we keep none of)."""
    _keep_only_the_id(session, current_raw_id(), why)


def _keep_only_the_id(session: Session, raw_id: int | None, why: str) -> None:
    raw = session.get(RawUpdate, raw_id) if raw_id is not None else None
    if raw is not None:
        raw.payload = {"update_id": raw.update_id, "ignored": why}
        session.execute(delete(UpdatePerson).where(UpdatePerson.raw_id == raw_id))


class ForeignChats:
    """Leaves each foreign chat once per process (a busy group must not queue a leave per message)."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._left: OrderedDict[int, None] = OrderedDict()

    def leave(self, session: Session, chat_id: int) -> bool:
        if chat_id in self._left:
            return False
        self._left[chat_id] = None
        while len(self._left) > self.limit:
            self._left.popitem(last=False)
        log.info("leaving chat %s: nobody configured it", chat_id)
        leave_chat(session, chat_id)
        return True


def is_channel_direct_messages(session: Session, settings: Settings, chat_id: int) -> bool | None:
    """Is `chat_id` the direct-messages chat of the configured channel, with the bot allowed to manage
    it? None: not known yet (ask Telegram, then `remember_direct_messages`)."""
    row = session.get(KnownChat, chat_id)
    if row is None or row.type != DIRECT_MESSAGES or not settings.channel.id:
        return None
    if row.parent_chat_id != settings.channel.id:
        return False
    if row.bot_status != "administrator" and utcnow() - row.updated_at > RECHECK_RIGHTS:
        return None  # the creator may have given the bot the right since: ask again
    return row.bot_status == "administrator"


def remember_direct_messages(session: Session, chat_id: int, title: str, parent_chat_id: int | None,
                             allowed: bool) -> None:
    row = session.get(KnownChat, chat_id)
    if row is None:
        row = KnownChat(chat_id=chat_id, type=DIRECT_MESSAGES, title="", bot_status="")
        session.add(row)
    row.type, row.title, row.parent_chat_id = DIRECT_MESSAGES, title[:256], parent_chat_id
    row.bot_status = "administrator" if allowed else "no_rights"
    row.updated_at = utcnow()
    session.flush()
