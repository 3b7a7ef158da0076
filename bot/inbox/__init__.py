"""Every inbox a creator has: the channel's direct messages and the creator's own chats (Telegram
Business), answered by the same FAQ model, handoffs, drafts, limits and privacy rules as the bot's own
chat (the FAQ answers through `Registry.answerer`; see bot/kernel/inboxes.py).

`register` hands the runtime the update handlers, /inbox and the buttons under notes.
"""

from __future__ import annotations

from telegram import Message
from telegram.ext import (
    BusinessConnectionHandler,
    BusinessMessagesDeletedHandler,
    MessageHandler,
    filters,
)

from bot.inbox import handlers
from bot.kernel import buttons
from bot.kernel.registry import Registry


class DirectMessagesChat(filters.MessageFilter):
    """Messages in a channel's direct-messages chat (the gate already checked it is our channel's)."""

    def filter(self, message: Message) -> bool:
        return bool(message.chat.is_direct_messages)


def register(reg: Registry) -> None:
    reg.command("inbox", handlers.inbox_command)
    reg.handler(lambda f: BusinessConnectionHandler(handlers.on_business_connection))
    reg.handler(lambda f: MessageHandler(filters.UpdateType.BUSINESS_MESSAGE, handlers.on_business_message))
    reg.handler(lambda f: MessageHandler(filters.UpdateType.EDITED_BUSINESS_MESSAGE,
                                         handlers.on_edited_business_message))
    reg.handler(lambda f: BusinessMessagesDeletedHandler(handlers.on_deleted_business_messages))
    reg.handler(lambda f: MessageHandler(f.new_message & DirectMessagesChat(), handlers.on_channel_dm))
    reg.callback(buttons.NEVER_ANSWER, handlers.never_answer)
    reg.callback(buttons.FORGET_PERSON, handlers.forget_person)
