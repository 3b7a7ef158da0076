"""Runs before every other handler: foreign chats are left unstored; followers are rate-limited."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.kernel.chats import awaits_setup, forget_foreign_update, is_known_chat
from bot.kernel.context import BotContext
from bot.kernel.convert import incoming
from bot.kernel.followers import attribute_quoted, record_incoming
from bot.kernel.outbox import send_text
from bot.kernel.unit import current_raw_id

_GONE = ("left", "kicked")
log = logging.getLogger(__name__)


def _malformed(update: Update) -> bool:
    """Fields Telegram always sends (with their types) that a forged or damaged update may lack."""
    message = update.effective_message
    if message is not None:
        chat = getattr(message, "chat", None)
        if chat is None or not isinstance(message.message_id, int) or not isinstance(chat.id, int) \
                or not isinstance(message.date, datetime):
            return True
        if not all(isinstance(v, str | None) for v in (message.text, message.caption, chat.type)):
            return True
        user = message.from_user
        if user is not None and not isinstance(user.id, int):
            return True
        if chat.type == "private" and user is None and update.callback_query is None:
            return True  # a private message always has its sender
    query = update.callback_query
    if query is not None and getattr(query, "from_user", None) is None:
        return True
    counts = update.message_reaction_count
    if counts is not None and (getattr(counts, "chat", None) is None or not isinstance(counts.message_id, int)
                               or not isinstance(counts.date, datetime)):
        return True
    change = update.chat_member or update.my_chat_member
    return change is not None and (getattr(change, "new_chat_member", None) is None
                                   or getattr(change, "from_user", None) is None
                                   or getattr(change, "old_chat_member", None) is None
                                   or getattr(change, "chat", None) is None or not isinstance(change.date, datetime))


async def gate(update: Update, context: BotContext) -> None:
    """Stop the update here when it comes from a chat that is not configured, or when a follower
    has made the bot answer too often in the last minute (their message is still stored)."""
    services = context.services
    settings = services.settings
    if _malformed(update):
        log.info("update %s lacks its chat or sender: stored and skipped", update.update_id)
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and not is_known_chat(settings, chat.id, chat.type):
        change = update.my_chat_member
        if change is not None and settings.is_creator(change.from_user.id):
            return  # the creator added (or removed) the bot: setup offers the chat (bot/setup/handlers.py)
        session = context.session
        forget_foreign_update(session, current_raw_id(), update.update_id, chat.id)
        gone = change is not None and change.new_chat_member.status in _GONE
        if not gone and not awaits_setup(session, chat.id):
            services.foreign_chats.leave(session, chat.id)
        raise ApplicationHandlerStop
    _attribute_quoted(update, context)
    user = update.effective_user
    message = update.message
    private = message is not None and message.chat.type == "private"
    if user is None or settings.is_creator(user.id) or not (private or update.callback_query is not None):
        return
    verdict = services.follower_limits.check(user.id, time.monotonic())
    if verdict == "ok":
        return
    if private and message is not None:
        record_incoming(context.session, incoming(message))
    if verdict == "crossed":
        send_text(context.session, user.id, texts.SLOW_DOWN)
    raise ApplicationHandlerStop


def _attribute_quoted(update: Update, context: BotContext) -> None:
    """The stored update carries a message of the bot's (the one replied to, the one whose button was
    pressed): index it under the followers that message quoted (a digest, /faq unanswered)."""
    carried = []
    query = update.callback_query
    if query is not None and query.message is not None:
        carried.append(query.message)
    message = update.effective_message
    replied = getattr(message, "reply_to_message", None) if message is not None else None
    author = getattr(replied, "from_user", None)
    if replied is not None and getattr(author, "is_bot", False) is True:  # not a comment under a post
        carried.append(replied)
    for shown in carried:
        chat = getattr(shown, "chat", None)
        if chat is not None and isinstance(chat.id, int) and isinstance(shown.message_id, int):
            attribute_quoted(context.session, current_raw_id(), chat.id, shown.message_id)
