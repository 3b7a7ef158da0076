"""Thin handlers for the other inboxes: Business connections and messages, the channel's direct
messages, /inbox and the buttons under notes from those inboxes."""

from __future__ import annotations

import logging

from telegram import Update

from bot import texts
from bot.inbox import business, channel_dm, connections, queue
from bot.kernel import buttons
from bot.kernel.context import BotContext
from bot.kernel.convert import business_connection, deleted_messages, incoming
from bot.kernel.followers import attribute_update, drop_pressed_note
from bot.kernel.outbox import answer_callback, edit_buttons, send_text
from bot.kernel.unit import current_raw_id

log = logging.getLogger(__name__)


async def on_business_connection(update: Update, context: BotContext) -> None:
    assert update.business_connection is not None
    connections.on_connection(context.services, context.session, business_connection(update.business_connection))


async def on_business_message(update: Update, context: BotContext) -> None:
    message = update.business_message
    assert message is not None
    await business.on_message(context.services, context.session, incoming(message))


async def on_edited_business_message(update: Update, context: BotContext) -> None:
    message = update.edited_business_message
    assert message is not None
    business.on_edited(context.session, context.services.settings, incoming(message))


async def on_deleted_business_messages(update: Update, context: BotContext) -> None:
    assert update.deleted_business_messages is not None
    business.on_deleted(context.session, context.services.settings,
                       deleted_messages(update.deleted_business_messages))


async def on_channel_dm(update: Update, context: BotContext) -> None:
    message = update.message
    assert message is not None
    await channel_dm.on_message(context.services, context.session, incoming(message))


async def inbox_command(update: Update, context: BotContext) -> None:
    """/inbox: the queue of every inbox and the modes; /inbox mode <inbox> <mode>; /inbox chats;
    /inbox answer <chat id>."""
    message = update.effective_message
    assert message is not None
    session, services, chat_id = context.session, context.services, message.chat_id
    args = [a.lower() for a in (context.args or [])]
    if not args:
        send_text(session, chat_id, queue.queue_text(session, services.settings))
    elif args[0] == "mode":
        try:
            if len(args) != 3:
                raise ValueError(texts.INBOX_MODE_USAGE)
            send_text(session, chat_id, queue.set_mode(services, session, args[1], args[2]))
        except ValueError as exc:
            send_text(session, chat_id, str(exc) if str(exc) == texts.INBOX_MODE_USAGE else texts.INBOX_MODE_USAGE)
    elif args[0] == "chats":
        chats = queue.excluded_chats(session)
        lines = [texts.INBOX_EXCLUDED_HEADER, *(f"{cid} · {texts.esc(name)}" for cid, name in chats)] \
            if chats else [texts.INBOX_EXCLUDED_NONE]
        send_text(session, chat_id, "\n".join(lines))
    elif args[0] == "answer" and len(args) == 2 and args[1].lstrip("-").isdigit():
        done = queue.restore_chat(session, int(args[1]))
        send_text(session, chat_id, texts.INBOX_CHAT_RESTORED if done else texts.INBOX_CHAT_UNKNOWN)
    else:
        send_text(session, chat_id, texts.INBOX_USAGE)


async def never_answer(update: Update, context: BotContext) -> None:
    """'Never answer here' under a Business draft (the creator's only)."""
    query = update.callback_query
    assert query is not None
    session = context.session
    button = buttons.parse(query.data, buttons.NEVER_ANSWER)
    if button is None or not context.services.settings.is_creator(query.from_user.id) \
            or not queue.exclude_chat_of(session, button.item_id):
        answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
        return
    drop_pressed_note(session, current_raw_id())
    if query.message is not None:
        edit_buttons(session, query.message.chat.id, query.message.message_id)
        send_text(session, query.message.chat.id, texts.NEVER_ANSWER_DONE)
    answer_callback(session, query.id, query.from_user.id, "🚫")


async def forget_person(update: Update, context: BotContext) -> None:
    """'Forget this person' under a note from another inbox: for followers who never wrote to the bot
    itself, so cannot send /forgetme there."""
    query = update.callback_query
    assert query is not None
    session, services = context.session, context.services
    button = buttons.parse(query.data, buttons.FORGET_PERSON)
    user_id = queue.person_of(session, button.item_id) if button is not None else None
    forget = services.registry.forget_person
    if user_id is None or forget is None or not services.settings.is_creator(query.from_user.id):
        answer_callback(session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
        return
    attribute_update(session, current_raw_id(), user_id)  # this press is about them: forgotten with the rest
    drop_pressed_note(session, current_raw_id())
    removed = await forget(services, session, user_id)
    if query.message is not None:
        send_text(session, query.message.chat.id, texts.FORGET_PERSON_DONE.format(rows=sum(removed.values())))
    answer_callback(session, query.id, query.from_user.id, "🗑")
