"""Runs before every other handler: foreign chats are left unstored; followers are rate-limited."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from telegram import Chat, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.kernel.chats import (
    awaits_setup,
    forget_foreign_update,
    is_channel_direct_messages,
    is_known_chat,
    remember_direct_messages,
)
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


async def _our_direct_messages(context: BotContext, chat: Chat) -> bool:
    """A channel's direct-messages chat passes when it belongs to the configured channel and the bot
    is an admin allowed to manage direct messages (asked of Telegram once, then remembered)."""
    if not chat.is_direct_messages:
        return False
    services = context.services
    settings, session = services.settings, context.session
    known = is_channel_direct_messages(session, settings, chat.id)
    if known is not None:
        return known
    try:
        info = await context.bot.get_chat(chat.id)
        parent = info.parent_chat.id if info.parent_chat is not None else None
        allowed = False
        if parent is not None and parent == settings.channel.id:
            member = await context.bot.get_chat_member(parent, context.bot.id)
            allowed = bool(getattr(member, "can_manage_direct_messages", False))
    except (BadRequest, Forbidden) as exc:  # not a chat the bot may see: not ours
        log.info("direct-messages chat %s is not the channel's: %s", chat.id, exc)
        return False
    # any other error (the network) fails the update, which is tried again later
    if parent is None or parent != settings.channel.id:
        return False
    if not allowed:
        log.warning("the channel's direct messages reach the bot, but it may not manage them: "
                    "give it the right to manage direct messages")
    remember_direct_messages(session, chat.id, chat.title or "", parent, allowed)
    return allowed


def _follower_message(update: Update) -> bool:
    """A message a follower wrote to the creator in any inbox: the bot's chat, a Business chat, a topic of
    the channel's direct messages (rate limits are per person across them all)."""
    message = update.message or update.business_message
    if message is None:
        return False
    return message.chat.type == "private" or bool(message.chat.is_direct_messages)


async def gate(update: Update, context: BotContext) -> None:
    """Stop the update here when it comes from a chat that is not configured, or when a follower
    has made the bot answer too often in the last minute (their message is still stored)."""
    services = context.services
    settings = services.settings
    if _malformed(update):
        log.info("update %s lacks its chat or sender: stored and skipped", update.update_id)
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is not None and not is_known_chat(settings, chat.id, chat.type) \
            and not await _our_direct_messages(context, chat):
        change = update.my_chat_member
        if change is not None and settings.is_creator(change.from_user.id):
            return  # the creator added (or removed) the bot: setup offers the chat (bot/setup/handlers.py)
        session = context.session
        forget_foreign_update(session, current_raw_id(), update.update_id, chat.id)
        gone = change is not None and change.new_chat_member.status in _GONE
        # another channel's direct messages: nothing to leave (the bot is in that channel, or it is not)
        if not gone and not chat.is_direct_messages and not awaits_setup(session, chat.id):
            services.foreign_chats.leave(session, chat.id)
        raise ApplicationHandlerStop
    _attribute_quoted(update, context)
    user = update.effective_user
    message = update.message
    follower = _follower_message(update)
    if user is None or settings.is_creator(user.id) or not (follower or update.callback_query is not None):
        return
    if update.business_message is not None and update.business_message.sender_business_bot is not None:
        return  # the bot's own message in the creator's chat, not the follower's
    verdict = services.follower_limits.check(user.id, time.monotonic())
    if verdict == "ok":
        return
    if follower and message is not None:  # (a Business message is stored only for an accepted connection)
        record_incoming(context.session, incoming(message))
    other_inbox = update.business_message is not None or (message is not None and message.chat.type != "private")
    if verdict == "crossed" and not other_inbox:  # in the other inboxes the bot speaks only to answer
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
