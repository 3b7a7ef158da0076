"""FAQ: the creator's replies to handoffs, /close, /retrain, and followers' 👍/👎."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.handlers.incoming import incoming, person
from bot.services import buttons, conversation, faq
from bot.services.faq_training import start_retrain
from bot.services.outbox import answer_callback, send_text
from bot.services.privacy import attribute_update


async def creator_reply(update: Update, context: BotContext) -> None:
    """A creator's reply to a handoff note goes to the follower; other replies are plain messages."""
    message = update.effective_message
    assert message is not None and message.reply_to_message is not None
    handoff = faq.handoff_for_reply(context.session, message.chat_id, message.reply_to_message.message_id)
    if handoff is None:
        if message.chat.type == "private":
            await conversation.on_private_message(context.services, context.session, incoming(message))
        return
    attribute_update(context.session, update.update_id, handoff.user_id)  # it quotes their question
    if handoff.status != "open":
        send_text(context.session, message.chat_id, texts.HANDOFF_ALREADY_DONE.format(status=handoff.status))
        return
    if not message.text:
        send_text(context.session, message.chat_id, texts.RELAY_TEXT_ONLY)
        return
    faq.relay_creator_answer(context.services, context.session, handoff, message.text, message.chat_id)


async def close(update: Update, context: BotContext) -> None:
    """Close the handoff the creator replies to, without an answer."""
    message = update.effective_message
    assert message is not None
    replied = message.reply_to_message
    handoff = faq.handoff_for_reply(context.session, message.chat_id, replied.message_id) if replied else None
    if handoff is None or handoff.status != "open":
        send_text(context.session, message.chat_id, texts.CLOSE_USAGE)
        return
    attribute_update(context.session, update.update_id, handoff.user_id)
    faq.close_handoff(context.session, handoff, message.chat_id)


async def retrain(update: Update, context: BotContext) -> None:
    """Train a new FAQ model version from the stored examples, in the background."""
    message = update.effective_message
    assert message is not None
    started = start_retrain(context.services, message.chat_id)
    send_text(context.session, message.chat_id, texts.RETRAIN_STARTED if started else texts.RETRAIN_BUSY)


async def feedback(update: Update, context: BotContext) -> None:
    """👍 or 👎 under an automatic answer."""
    query = update.callback_query
    assert query is not None
    button = buttons.parse(query.data, buttons.FEEDBACK)
    toast = texts.FEEDBACK_UNKNOWN
    if query.message is not None and button is not None:
        toast = faq.record_feedback(context.services, context.session, person(query.from_user), button.item_id,
                                    button.choice, query.message.chat.id, query.message.message_id)
    answer_callback(context.session, query.id, query.from_user.id, toast)


async def expired_button(update: Update, context: BotContext) -> None:
    """Any button press no other handler took (forged or stale data): "expired", never a traceback."""
    query = update.callback_query
    assert query is not None
    answer_callback(context.session, query.id, query.from_user.id, texts.FEEDBACK_UNKNOWN)
