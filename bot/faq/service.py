"""FAQ use cases: import, answer or hand off, relay the creator's reply, learn, feedback."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.faq.model import live_model
from bot.kernel import buttons
from bot.kernel.buttons import RETRAIN_BUTTONS
from bot.kernel.messages import IncomingMessage, Person
from bot.kernel.outbox import DIGEST_PURPOSE, edit_buttons, send_text
from bot.kernel.services import Services
from bot.store.models import (
    FaqAnswer,
    FaqEntryRow,
    FaqExample,
    Follower,
    Handoff,
    OutboxMessage,
    utcnow,
)
from nlp.faq_data import FaqEntry, entry_id_for, normalize_question


@dataclass(frozen=True)
class ImportSummary:
    entries: int
    new_entries: int
    questions: int
    new_questions: int


def import_entries(session: Session, entries: Sequence[FaqEntry]) -> ImportSummary:
    """Store FAQ entries and their questions (idempotent: re-importing a file adds only what is new)."""
    new_entries = new_questions = 0
    for entry in entries:
        row = session.get(FaqEntryRow, entry.id)
        if row is None:
            row = FaqEntryRow(id=entry.id, answer=entry.answer, tags=list(entry.tags), source="file")
            session.add(row)
            new_entries += 1
        else:
            row.answer, row.tags, row.active = entry.answer, list(entry.tags), True
        known = {normalize_question(q) for q in session.scalars(
            select(FaqExample.question).where(FaqExample.entry_id == entry.id))}
        for q in entry.questions:
            if normalize_question(q) not in known:
                session.add(FaqExample(entry_id=entry.id, question=q, source="file", status="accepted"))
                known.add(normalize_question(q))
                new_questions += 1
    session.flush()
    return ImportSummary(len(entries), new_entries, sum(len(e.questions) for e in entries), new_questions)


def training_entries(session: Session) -> list[FaqEntry]:
    """Every active entry with its accepted questions (entries without one are left out)."""
    rows = session.execute(
        select(FaqEntryRow, FaqExample.question)
        .join(FaqExample, FaqExample.entry_id == FaqEntryRow.id)
        .where(FaqEntryRow.active.is_(True), FaqExample.status == "accepted")
        .order_by(FaqEntryRow.id, FaqExample.id)).all()
    entries: dict[str, FaqEntry] = {}
    for row, question in rows:
        entry = entries.setdefault(row.id, FaqEntry(row.id, row.answer, [], list(row.tags or [])))
        entry.questions.append(question)
    return list(entries.values())


def examples_since(session: Session, trained_at: float) -> int:
    since = datetime.fromtimestamp(trained_at, UTC)
    return int(session.scalar(select(func.count()).select_from(FaqExample).where(
        FaqExample.status == "accepted", FaqExample.created_at > since)) or 0)


def open_handoff_for(session: Session, user_id: int) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.user_id == user_id, Handoff.status == "open")
                          .order_by(Handoff.id.desc()).limit(1))


def _display_name(user: Person) -> str:
    name = user.full_name or str(user.id)
    return f"{name} (@{user.username})" if user.username else name


def start_handoff(services: Services, session: Session, user: Person, chat_id: int, question: str,
                  reason: str, confidence: float | None) -> Handoff | None:
    """Pass a question to the creator (their chat or the inbox group) and tell the follower."""
    creator_chat = services.settings.creator_chat_id
    if creator_chat is None:
        send_text(session, chat_id, texts.NO_CREATOR)
        return None
    handoff = Handoff(user_id=user.id, chat_id=chat_id, question=question, reason=reason,
                      confidence=confidence)
    session.add(handoff)
    session.flush()
    if notes_waiting(session, creator_chat) >= DIGEST_AFTER:
        # a burst: this one waits for the next digest (creator_outbox_id stays empty until then)
        send_text(session, chat_id, texts.HANDOFF_TO_FOLLOWER)
        return handoff
    note = texts.HANDOFF_TO_CREATOR.format(
        name=texts.esc(_display_name(user)), question=texts.esc(texts.clip(question, 3000)),
        reason=texts.esc(reason), id=handoff.id)
    row = send_text(session, creator_chat, note, purpose=f"handoff:{handoff.id}")
    handoff.creator_outbox_id = row.id
    send_text(session, chat_id, texts.HANDOFF_TO_FOLLOWER)
    return handoff


def questions_in(payloads: list[dict[str, Any]]) -> list[str]:
    """Texts of stored updates that will most likely ask the FAQ: private text messages, not commands."""
    out = []
    for payload in payloads:
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, dict):
            continue
        chat, text = message.get("chat"), message.get("text")
        if isinstance(chat, dict) and chat.get("type") == "private" and isinstance(text, str) \
                and text.strip() and not text.startswith("/"):
            out.append(text)
    return out


async def answer_question(services: Services, session: Session, message: IncomingMessage) -> None:
    """Answer from the FAQ, or hand off when the model is unsure (never invent an answer)."""
    assert message.from_user is not None and message.text is not None
    user, text = message.from_user, message.text
    pending = open_handoff_for(session, user.id)
    if pending is not None:
        creator_chat = services.settings.creator_chat_id
        if creator_chat is not None and pending.creator_outbox_id is not None:
            send_text(session, creator_chat, texts.HANDOFF_FOLLOW_UP.format(
                name=texts.esc(_display_name(user)), question=texts.esc(texts.clip(text, 3000)),
                id=pending.id), purpose=f"handoff:{pending.id}")
            # a follow-up is shown to the creator but never becomes part of the question that is learned
        send_text(session, message.chat_id, texts.HANDOFF_STILL_OPEN)
        return
    model = live_model(services)
    matcher = model.matcher if model is not None else None
    if matcher is None:
        start_handoff(services, session, user, message.chat_id, text, "no FAQ model yet", None)
        return
    assert model is not None
    match, version = await model.match(text)
    if match.handoff:
        start_handoff(services, session, user, message.chat_id, text, match.reason, match.confidence)
        return
    answer = FaqAnswer(user_id=user.id, chat_id=message.chat_id, question=text, entry_id=match.entry_id,
                       confidence=match.confidence, model_version=version or "?")
    session.add(answer)
    session.flush()
    row = send_text(session, message.chat_id, texts.esc(match.answer), purpose="faq-answer",
                    buttons=[[("👍", buttons.make(buttons.FEEDBACK, answer.id, "up")),
                              ("👎", buttons.make(buttons.FEEDBACK, answer.id, "down"))]])
    answer.outbox_id = row.id


def handoff_for_reply(session: Session, chat_id: int, replied_message_id: int,
                      text: str = "") -> tuple[Handoff | None, str]:
    """The handoff the creator answers by replying (in `chat_id`) to its note, or to a digest with
    "#id answer"; and the answer without that "#id"."""
    row = session.execute(select(OutboxMessage.id, OutboxMessage.purpose).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == replied_message_id,
        OutboxMessage.purpose.startswith("handoff"))).first()
    if row is None:
        return None, text
    if row.purpose.startswith("handoff:"):
        return session.get(Handoff, int(row.purpose.split(":", 1)[1])), text
    picked = _DIGEST_PICK.match(text)
    handoff = session.get(Handoff, int(picked.group(1))) if picked else None
    if handoff is None or handoff.creator_outbox_id != row.id:
        return None, text
    return handoff, picked.group(2).strip() if picked else text


# --- messages Telegram refused for good ---------------------------------------------------------
RELAY_PREFIX = "relay:"


def undeliverable(session: Session, row: OutboxMessage, error: str) -> None:
    """Telegram refused `row` for good (blocked, never started, chat gone, too long): nobody is left
    waiting on it. A handoff whose note never reached the creator is closed (the follower is told and
    gets automatic answers again); a creator's answer that never reached the follower is reported."""
    purpose = row.purpose or ""
    if purpose.startswith("handoff") and row.chat_id != 0:
        stuck = session.scalars(select(Handoff).where(Handoff.status == "open", Handoff.creator_outbox_id == row.id))
        for waiting in stuck:
            waiting.status, waiting.closed_at = "closed", utcnow()
            send_text(session, waiting.chat_id, texts.HANDOFF_UNDELIVERED)
    elif purpose.startswith(RELAY_PREFIX) and purpose[len(RELAY_PREFIX):].isdigit():
        handoff = session.get(Handoff, int(purpose[len(RELAY_PREFIX):]))
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
        OutboxMessage.purpose.startswith("handoff"))) or 0)


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
        lines.append(texts.HANDOFF_DIGEST_LINE.format(id=h.id, name=texts.esc(texts.clip(name, 60)),
                                                      question=texts.esc(texts.clip(h.question or "", 150))))
    row = send_text(session, creator_chat, "\n".join([*lines, texts.HANDOFF_DIGEST_FOOTER]), purpose=DIGEST_PURPOSE)
    for h in waiting:
        h.creator_outbox_id = row.id
    return len(waiting)


def learn_answer(session: Session, question: str, answer: str, accepted: bool) -> str:
    """Make the question the creator answered an FAQ example of their answer (a new entry unless the
    answer already exists). Only that one question: follow-ups appended while the handoff was open
    are not examples, so nobody can attach other questions to an unrelated answer. With
    `auto_accept_answers = false` the example waits for review (`creatorbot faq review`)."""
    existing = session.scalar(select(FaqEntryRow).where(FaqEntryRow.answer == answer.strip()))
    if existing is None:
        entry_id = entry_id_for(answer)
        existing = session.get(FaqEntryRow, entry_id) or FaqEntryRow(
            id=entry_id, answer=answer.strip(), tags=[], source="handoff")
        session.add(existing)
        session.flush()
    question = question.strip()
    duplicate = session.scalar(select(FaqExample).where(
        FaqExample.entry_id == existing.id, FaqExample.question == question))
    if duplicate is None and question:
        session.add(FaqExample(entry_id=existing.id, question=question, source="handoff",
                               status="accepted" if accepted else "pending"))
    return existing.id


def pending_examples(session: Session, limit: int = 500) -> list[tuple[FaqExample, str]]:
    """Learned examples waiting for the creator's review, with the answer each would point to."""
    rows = session.execute(select(FaqExample, FaqEntryRow.answer).join(FaqEntryRow)
                           .where(FaqExample.status == "pending").order_by(FaqExample.id).limit(limit)).all()
    return [(example, answer) for example, answer in rows]


def review_examples(session: Session, accept: Sequence[int], reject: Sequence[int]) -> tuple[int, int]:
    """Accept (training data from now on) or reject (delete) pending examples by id."""
    accepted = rejected = 0
    for example in session.scalars(select(FaqExample).where(FaqExample.status == "pending",
                                                           FaqExample.id.in_([*accept, *reject]))):
        if example.id in reject:
            session.delete(example)
            rejected += 1
        else:
            example.status = "accepted"
            example.created_at = utcnow()  # counts as new for the nightly retrain
            accepted += 1
    return accepted, rejected


def relay_creator_answer(services: Services, session: Session, handoff: Handoff, answer: str,
                         creator_chat_id: int) -> None:
    """Send the creator's reply to the follower, close the handoff and learn from it."""
    send_text(session, handoff.chat_id, texts.CREATOR_ANSWER.format(answer=texts.esc(answer)),
              purpose=f"{RELAY_PREFIX}{handoff.id}")
    handoff.status = "answered"
    handoff.answer = answer
    handoff.answered_at = utcnow()
    accepted = services.settings.faq.auto_accept_answers
    if handoff.question:
        handoff.learned_entry_id = learn_answer(session, handoff.question, answer, accepted)
    send_text(session, creator_chat_id,
              texts.RELAYED_LEARNED if accepted else texts.RELAYED_PENDING,
              buttons=RETRAIN_BUTTONS if accepted else None)


def close_handoff(session: Session, handoff: Handoff, creator_chat_id: int) -> None:
    handoff.status = "closed"
    handoff.closed_at = utcnow()
    send_text(session, handoff.chat_id, texts.HANDOFF_CLOSED_FOLLOWER)
    send_text(session, creator_chat_id, texts.HANDOFF_CLOSED_CREATOR)


def record_feedback(services: Services, session: Session, user: Person, answer_id: int, value: str,
                    message_chat_id: int, message_id: int) -> str:
    """Store 👍/👎 (once per answer); 👎 opens a handoff. Returns the text for the button toast."""
    answer = session.get(FaqAnswer, answer_id)
    if answer is None or answer.user_id != user.id:
        return texts.FEEDBACK_UNKNOWN
    if answer.feedback is not None:
        return texts.FEEDBACK_THANKS
    answer.feedback = "up" if value == "up" else "down"
    answer.feedback_at = utcnow()
    edit_buttons(session, message_chat_id, message_id)
    if answer.feedback == "down":
        start_handoff(services, session, user, answer.chat_id, answer.question or "", "👎 on an answer",
                      answer.confidence)
    return texts.FEEDBACK_THANKS
