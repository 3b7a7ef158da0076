"""Runs before every other handler: foreign chats are left unstored; followers are rate-limited."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import BotContext
from bot.handlers.incoming import incoming
from bot.services.chats import forget_foreign_update, is_known_chat
from bot.services.followers import record_incoming
from bot.services.outbox import send_text

_GONE = ("left", "kicked")


async def gate(update: Update, context: BotContext) -> None:
    """Stop the update here when it comes from a chat that is not configured, or when a follower
    has made the bot answer too often in the last minute (their message is still stored)."""
    services = context.services
    settings = services.settings
    chat = update.effective_chat
    if chat is not None and not is_known_chat(settings, chat.id, chat.type):
        forget_foreign_update(context.session, update.update_id, chat.id)
        change = update.my_chat_member
        if change is None or change.new_chat_member.status not in _GONE:
            added_by = change.from_user.id if change is not None else None
            services.foreign_chats.leave(settings, context.session, chat.id, chat.title or "", added_by)
        raise ApplicationHandlerStop
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
