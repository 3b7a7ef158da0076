"""Handoffs: a question the FAQ is unsure of goes to the creator (one note, or a digest in a burst),
the creator's reply goes back to the follower, and a note that cannot be delivered says so."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.faq.entries import learn_answer
from bot.kernel.buttons import RETRAIN_BUTTONS
from bot.kernel.inboxes import inbox_label, target_open
from bot.kernel.messages import BOT_TARGET, BUSINESS, Person, ReplyTarget
from bot.kernel.outbox import DIGEST_PURPOSE, HANDOFF_PURPOSE, RELAY_PURPOSE, send_text
from bot.kernel.services import Services
from bot.store.db import core
from bot.store.models import (
    Follower,
    Handoff,
    OutboxMessage,
    utcnow,
)
from bot.store.scope import creator_of


def open_handoff_for(session: Session, user_id: int) -> Handoff | None:
    """The follower's open handoff, if any. Most questions come from followers with none: a plain SELECT of
    the id says so (every question asks), and only an open one is loaded as an object."""
    session.flush()  # a handoff opened earlier in this transaction counts
    found = core(session, _OPEN_HANDOFF, {"creator_id": creator_of(session), "user_id": user_id}).scalar()
    return None if found is None else session.get(Handoff, found)


_HANDOFFS: Any = Handoff.__table__
_OPEN_HANDOFF = (select(_HANDOFFS.c.id)
                 .where(_HANDOFFS.c.creator_id == bindparam("creator_id"), _HANDOFFS.c.user_id == bindparam("user_id"),
                        _HANDOFFS.c.status == "open")
                 .order_by(_HANDOFFS.c.id.desc()).limit(1))


def _display_name(user: Person) -> str:
    name = user.full_name or str(user.id)
    return f"{name} (@{user.username})" if user.username else name


def target_of(handoff: Handoff) -> ReplyTarget:
    """Where the answer to a handoff or draft goes (the inbox its question came from)."""
    return ReplyTarget(handoff.business_connection_id, handoff.topic_id)


def tell_follower(session: Session, chat_id: int, text: str, target: ReplyTarget) -> None:
    """A word from the bot to the follower, except in the creator's own chats (Business), where the bot
    speaks as the creator and only ever sends the creator's answers."""
    if target.inbox != BUSINESS:
        send_text(session, chat_id, text, target=target)


def start_handoff(services: Services, session: Session, user: Person, chat_id: int, question: str,
                  reason: str, confidence: float | None, target: ReplyTarget = BOT_TARGET) -> Handoff | None:
    """Pass a question to the creator (their chat or the inbox group) and tell the follower."""
    creator_chat = services.settings.creator_chat_id
    if creator_chat is None:
        tell_follower(session, chat_id, texts.NO_CREATOR, target)
        return None
    handoff = Handoff(user_id=user.id, chat_id=chat_id, question=question, reason=reason,
                      confidence=confidence, inbox=target.inbox,
                      business_connection_id=target.business_connection_id,
                      topic_id=target.direct_messages_topic_id)
    session.add(handoff)
    session.flush()
    if notes_waiting(session, creator_chat) >= DIGEST_AFTER:
        # a burst: this one waits for the next digest (creator_outbox_id stays empty until then)
        tell_follower(session, chat_id, texts.HANDOFF_TO_FOLLOWER, target)
        return handoff
    note = texts.HANDOFF_TO_CREATOR.format(
        name=texts.esc(_display_name(user)), question=texts.esc(texts.clip(question, 3000)),
        reason=texts.esc(reason), id=handoff.id)
    if target.inbox != "bot":
        note += "\n" + texts.HANDOFF_FROM_INBOX.format(inbox=texts.esc(inbox_label(target.inbox)))
    row = send_text(session, creator_chat, note, purpose=HANDOFF_PURPOSE, handoff_id=handoff.id, about=[user.id])
    handoff.creator_outbox_id = row.id
    tell_follower(session, chat_id, texts.HANDOFF_TO_FOLLOWER, target)
    return handoff


def handoff_for_reply(session: Session, chat_id: int, replied_message_id: int,
                      text: str = "") -> tuple[Handoff | None, str]:
    """The handoff the creator answers by replying (in `chat_id`) to its note, or to a digest with
    "#id answer"; and the answer without that "#id"."""
    row = session.execute(select(OutboxMessage.id, OutboxMessage.handoff_id).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == replied_message_id,
        OutboxMessage.purpose.in_((HANDOFF_PURPOSE, DIGEST_PURPOSE)))).first()
    if row is None:
        return None, text
    if row.handoff_id is not None:
        return session.get(Handoff, row.handoff_id), text
    picked = _DIGEST_PICK.match(text)
    handoff = session.get(Handoff, int(picked.group(1))) if picked else None
    if handoff is None or handoff.creator_outbox_id != row.id:
        return None, text
    return handoff, picked.group(2).strip() if picked else text


# --- messages Telegram refused for good ---------------------------------------------------------


def undeliverable(session: Session, row: OutboxMessage, error: str) -> None:
    """Telegram refused `row` for good (blocked, never started, chat gone, too long): nobody is left
    waiting on it. A handoff whose note never reached the creator is closed (the follower is told and
    gets automatic answers again); a creator's answer that never reached the follower is reported."""
    if row.purpose in (HANDOFF_PURPOSE, DIGEST_PURPOSE) and row.chat_id != 0:
        stuck = session.scalars(select(Handoff).where(Handoff.status == "open", Handoff.creator_outbox_id == row.id))
        for waiting in stuck:
            waiting.status, waiting.closed_at = "closed", utcnow()
            tell_follower(session, waiting.chat_id, texts.HANDOFF_UNDELIVERED, target_of(waiting))
    elif row.purpose == RELAY_PURPOSE and row.handoff_id is not None:
        handoff = session.get(Handoff, row.handoff_id)
        note = session.get(OutboxMessage, handoff.creator_outbox_id) if handoff and handoff.creator_outbox_id else None
        if handoff is not None and note is not None:
            send_text(session, note.chat_id, texts.RELAY_FAILED.format(id=handoff.id, error=texts.esc(
                texts.clip(error, 200))))


# --- a digest instead of a flood of notes -----------------------------------------------------
DIGEST_AFTER = 5  # notes to the creator still waiting to be sent before new handoffs wait for a digest


DIGEST_SIZE = 15  # questions per digest (one Telegram message)


_DIGEST_PICK = re.compile(r"\s*#(\d{1,12})\b\s*(.*)", re.S)


def is_digest(session: Session, chat_id: int, replied_message_id: int) -> bool:
    return session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == replied_message_id,
        OutboxMessage.purpose == DIGEST_PURPOSE)) is not None


def notes_waiting(session: Session, creator_chat: int) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.chat_id == creator_chat, OutboxMessage.status == "pending",
        OutboxMessage.purpose.in_((HANDOFF_PURPOSE, DIGEST_PURPOSE)))) or 0)


def send_digest(session: Session, settings: Settings) -> int:
    """One message listing open handoffs that got no note of their own (at most DIGEST_SIZE, oldest
    first; the rest go in the next one). The creator answers one by replying "#id answer".
    Returns how many it lists."""
    creator_chat = settings.creator_chat_id
    if creator_chat is None or session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.purpose == DIGEST_PURPOSE, OutboxMessage.status == "pending").limit(1)):
        return 0
    waiting = list(session.scalars(select(Handoff).where(
        Handoff.status == "open", Handoff.creator_outbox_id.is_(None)).order_by(Handoff.id).limit(DIGEST_SIZE)))
    if not waiting:
        return 0
    names = {f.user_id: f for f in session.scalars(select(Follower).where(
        Follower.user_id.in_([h.user_id for h in waiting])))}
    lines = [texts.HANDOFF_DIGEST_HEADER.format(n=len(waiting))]
    for h in waiting:
        f = names.get(h.user_id)
        name = (f"{f.first_name} (@{f.username})" if f.username else f.first_name) if f else str(h.user_id)
        tag = texts.INBOX_TAGS.get(h.inbox, "")
        lines.append(texts.HANDOFF_DIGEST_LINE.format(id=h.id, tag=f"{tag} " if tag else "",
                                                      name=texts.esc(texts.clip(name, 60)),
                                                      question=texts.esc(texts.clip(h.question or "", 150))))
    row = send_text(session, creator_chat, "\n".join([*lines, texts.HANDOFF_DIGEST_FOOTER]), purpose=DIGEST_PURPOSE,
                    about=[h.user_id for h in waiting])
    for h in waiting:
        h.creator_outbox_id = row.id
    return len(waiting)


def relay_creator_answer(services: Services, session: Session, handoff: Handoff, answer: str,
                         creator_chat_id: int) -> bool:
    """Send the creator's reply to the follower (in the inbox the question came from), close the handoff
    and learn from it. In the creator's own chats (Business) the answer goes out as they wrote it.
    False (nothing sent, the handoff stays open) when the bot may not send there now."""
    target = target_of(handoff)
    if not target_open(session, target):  # the creator disconnected the bot or took back "reply"
        send_text(session, creator_chat_id, texts.INBOX_CLOSED)
        return False
    text = texts.esc(answer) if target.inbox == BUSINESS else texts.CREATOR_ANSWER.format(answer=texts.esc(answer))
    send_text(session, handoff.chat_id, text, purpose=RELAY_PURPOSE, handoff_id=handoff.id,
              target=target)
    handoff.status = "answered"
    handoff.answer = answer
    handoff.answered_at = utcnow()
    accepted = services.settings.faq.auto_accept_answers
    if handoff.question:
        handoff.learned_entry_id = learn_answer(session, handoff.question, answer, accepted, asker=handoff.user_id)
    send_text(session, creator_chat_id,
              texts.RELAYED_LEARNED if accepted else texts.RELAYED_PENDING,
              buttons=RETRAIN_BUTTONS if accepted else None)
    return True


def close_handoff(session: Session, handoff: Handoff, creator_chat_id: int) -> None:
    handoff.status = "closed"
    handoff.closed_at = utcnow()
    if handoff.kind != "draft":  # a draft's follower never heard of it
        tell_follower(session, handoff.chat_id, texts.HANDOFF_CLOSED_FOLLOWER, target_of(handoff))
    send_text(session, creator_chat_id, texts.HANDOFF_CLOSED_CREATOR)
