"""Answering a follower's question: the live model's match, the answer with 👍/👎, or a handoff."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from bot import texts
from bot.faq.drafts import start_draft
from bot.faq.entries import mark_example
from bot.faq.handoffs import _display_name, open_handoff_for, start_handoff, tell_follower
from bot.faq.model import live_model
from bot.kernel import buttons
from bot.kernel.inboxes import DRAFT, OFF, inbox_mode
from bot.kernel.messages import BOT_CHAT, IncomingMessage, Person
from bot.kernel.outbox import HANDOFF_PURPOSE, edit_buttons, send_text
from bot.kernel.services import Services
from bot.store.db import core
from bot.store.models import (
    FaqAnswer,
    utcnow,
)
from bot.store.scope import insert_row


def questions_in(payloads: list[dict[str, Any]], room: Callable[[int], int] | None = None) -> list[str]:
    """Texts of stored updates that will most likely ask the FAQ: private text messages, not commands.

    `room(user_id)`: how many more answers the sender may get now (the follower rate limit); a
    follower's questions past it are left out, so the model never embeds what the gate will drop.
    """
    out = []
    left: dict[int, int] = {}
    for payload in payloads:
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, dict):
            continue
        chat, text, sender = message.get("chat"), message.get("text"), message.get("from")
        if not (isinstance(chat, dict) and chat.get("type") == "private" and isinstance(text, str)
                and text.strip() and not text.startswith("/")):
            continue
        user_id = sender.get("id") if isinstance(sender, dict) else None
        if room is not None and isinstance(user_id, int):
            left.setdefault(user_id, room(user_id))
            if left[user_id] <= 0:
                continue
            left[user_id] -= 1
        out.append(text)
    return out


async def answer_question(services: Services, session: Session, message: IncomingMessage) -> None:
    """Answer from the FAQ, or hand off when the model is unsure (never invent an answer), in the inbox
    the question came from and by that inbox's mode: auto answers, draft asks the creator first, off
    leaves the question to the creator."""
    assert message.from_user is not None and message.text is not None
    user, text, target = message.from_user, message.text, message.reply_target
    mode = inbox_mode(services.settings, target.inbox)
    if mode == OFF:
        return
    pending = open_handoff_for(session, user.id)
    if pending is not None:
        creator_chat = services.settings.creator_chat_id
        if creator_chat is not None and pending.creator_outbox_id is not None:
            send_text(session, creator_chat, texts.HANDOFF_FOLLOW_UP.format(
                name=texts.esc(_display_name(user)), question=texts.esc(texts.clip(text, 3000)),
                id=pending.id), purpose=HANDOFF_PURPOSE, handoff_id=pending.id, about=[user.id])
            # a follow-up is shown to the creator but never becomes part of the question that is learned
        if pending.kind != "draft":
            tell_follower(session, message.chat_id, texts.HANDOFF_STILL_OPEN, target)
        return
    model = live_model(services)
    if model is None or model.version is None:
        if mode == DRAFT:
            start_draft(services, session, message, None, None, "no FAQ model yet", None)
        else:
            start_handoff(services, session, user, message.chat_id, text, "no FAQ model yet", None, target)
        return
    assert model is not None
    match, version = await model.match(text)
    if mode == DRAFT:
        suggestion = None if match.handoff else match.answer
        start_draft(services, session, message, suggestion, match.entry_id, match.reason, match.confidence)
        return
    if match.handoff:
        start_handoff(services, session, user, message.chat_id, text, match.reason, match.confidence, target)
        return
    # the answer and its message: plain INSERTs and an UPDATE by id (the hot path; an ORM flush costs more)
    answer_id = insert_row(session, FaqAnswer, {
        "user_id": user.id, "chat_id": message.chat_id, "question": text, "entry_id": match.entry_id,
        "confidence": match.confidence, "model_version": version or "?", "threshold": model.threshold_for(text),
        "inbox": target.inbox})
    feedback = [[("👍", buttons.make(buttons.FEEDBACK, answer_id, "up")),
                 ("👎", buttons.make(buttons.FEEDBACK, answer_id, "down"))]]
    # 👍/👎 only in the bot's own chat: elsewhere the answer reads as the creator's (or the channel's)
    row = send_text(session, message.chat_id, texts.esc(match.answer), purpose="faq-answer",
                    buttons=feedback if target.inbox == BOT_CHAT else None, target=target)
    core(session, _SET_OUTBOX, {"answer_id": answer_id, "outbox_id": row.id})


_ANSWERS: Any = FaqAnswer.__table__
# by id, which is unique across creators (bot/store/db.py `core`)
_SET_OUTBOX = update(_ANSWERS).where(_ANSWERS.c.id == bindparam("answer_id")).values(outbox_id=bindparam("outbox_id"))


def record_feedback(services: Services, session: Session, user: Person, answer_id: int, value: str,
                    message_chat_id: int, message_id: int) -> str:
    """Store 👍/👎 (once per answer); 👎 opens a handoff and makes the question a negative example of
    the entry (from the next training on, the same question is handed off; an accepted example of the
    entry is never undone by a follower). Returns the text for the button toast."""
    answer = session.get(FaqAnswer, answer_id)
    if answer is None or answer.user_id != user.id:
        return texts.FEEDBACK_UNKNOWN
    if answer.feedback is not None:
        return texts.FEEDBACK_THANKS
    answer.feedback = "up" if value == "up" else "down"
    answer.feedback_at = utcnow()
    edit_buttons(session, message_chat_id, message_id)
    if answer.feedback == "down":
        if answer.question:
            mark_example(session, answer.entry_id, answer.question, "negative", "feedback", override=False)
        start_handoff(services, session, user, answer.chat_id, answer.question or "", "👎 on an answer",
                      answer.confidence)  # 👍/👎 exist only in the bot's own chat
    return texts.FEEDBACK_THANKS
