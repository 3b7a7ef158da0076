"""Followers in private chat: thin handlers, one service call each."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.faq import conversation
from bot.kernel.context import BotContext
from bot.kernel.convert import incoming
from bot.kernel.followers import record_incoming
from bot.kernel.outbox import send_text


async def start(update: Update, context: BotContext) -> None:
    """Greet the follower and say what the bot does."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    record_incoming(context.session, incoming(message))
    send_text(context.session, message.chat_id,
              texts.START.format(name=texts.esc(message.from_user.first_name)))


async def help_command(update: Update, context: BotContext) -> None:
    """Explain the commands (creators also see theirs)."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    record_incoming(context.session, incoming(message))
    text = texts.HELP
    if context.services.settings.is_creator(message.from_user.id):
        text += "\n" + texts.CREATOR_HELP
    send_text(context.session, message.chat_id, text)


async def private_message(update: Update, context: BotContext) -> None:
    """Anything else a follower writes: store it, then answer, hand off or explain."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    await conversation.on_private_message(context.services, context.session, incoming(message))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A /command the bot does not have: say so (it is not a question for the creator)."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    record_incoming(context.session, incoming(message))
    send_text(context.session, message.chat_id, texts.UNKNOWN_COMMAND)
