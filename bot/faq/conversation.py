"""A follower's private message: store it, refuse odd input politely, otherwise answer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot import texts
from bot.faq import authoring as faq_chat
from bot.faq import drafts, smalltalk
from bot.faq.answering import answer_question
from bot.kernel.followers import record_incoming
from bot.kernel.messages import IncomingMessage
from bot.kernel.outbox import send_text
from bot.kernel.services import Services

MAX_TEXT = 4096


async def on_private_message(services: Services, session: Session, message: IncomingMessage) -> None:
    record_incoming(session, message)  # the gate (bot/kernel/gate.py) already applied the rate limit
    assert message.from_user is not None
    text = message.text or ""
    if message.text is None:
        send_text(session, message.chat_id, texts.NON_TEXT)
        return
    if texts.utf16_len(text) >= MAX_TEXT:
        send_text(session, message.chat_id, texts.TOO_LONG)
        return
    if services.settings.is_creator(message.from_user.id) and (
            drafts.continue_edit(services, session, message.chat_id, text)
            or faq_chat.continue_dialog(services, session, message.chat_id, text)):
        return
    talk = services.settings.smalltalk
    kind = smalltalk.classify(text) if talk.enabled else None
    if kind is not None:  # not a question: answered here, never handed off or counted
        send_text(session, message.chat_id, texts.esc(smalltalk.reply(kind, text, talk)), purpose="smalltalk")
        return
    if not any(ch.isalnum() for ch in text):
        send_text(session, message.chat_id, texts.EMPTY_TEXT)
        return
    await answer_question(services, session, message)


async def on_inbox_message(services: Services, session: Session, message: IncomingMessage) -> None:
    """A follower's message in another inbox (the channel's direct messages, the creator's Business
    chats), already stored and checked by the inbox feature: a question is answered, drafted or handed
    off by that inbox's mode. Small talk, files and empty messages are left alone there: the bot speaks
    in those chats only to answer."""
    text = message.text or ""
    if message.text is None or texts.utf16_len(text) >= MAX_TEXT or not any(ch.isalnum() for ch in text):
        return
    if services.settings.smalltalk.enabled and smalltalk.classify(text) is not None:
        return
    await answer_question(services, session, message)
