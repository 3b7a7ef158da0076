"""The creator's daily "were these right?" list: the automatic answers given closest to the confidence
threshold since the last list, each with ✅ (the question becomes an accepted example of that entry)
and ✏️ (wrong: the question becomes a negative example of the entry, so a question like it is handed
off after the next training; the creator may reply with the right answer, which is learned like a
handoff answer, or tap "hand off next time").

Once a day at most (`[faq] review_time`), at most `review_size` answers, only answers whose confidence
was at most `review_band` above the threshold they were given at; an answer is listed once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.faq.entries import learn_answer, mark_example
from bot.kernel import buttons
from bot.kernel.buttons import RETRAIN_BUTTONS
from bot.kernel.outbox import edit_buttons, send_text
from bot.store.models import FaqAnswer, FaqEntryRow, OutboxMessage, utcnow

REVIEW_PURPOSE = "faq-review"  # the daily list
FIX_PURPOSE = "faq-review-fix"  # "reply with the right answer" after ✏️
LOOKBACK = timedelta(days=7)  # the first list (or one after a long pause) looks back this far at most


def _gap(answer: FaqAnswer, default_threshold: float | None) -> float | None:
    threshold = answer.threshold if answer.threshold is not None else default_threshold
    return None if threshold is None else abs(answer.confidence - threshold)


def candidates(session: Session, settings: Settings, now: datetime,
               default_threshold: float | None = None) -> list[FaqAnswer]:
    """The answers the next list would hold: given since the last list (at most LOOKBACK ago), never
    listed, no 👎 (that one already went to the creator), within `review_band` of their threshold;
    closest to it first, at most `review_size`."""
    faq = settings.faq
    last = session.scalar(select(func.max(FaqAnswer.listed_at)))
    since = max(last, now - LOOKBACK) if last is not None else now - LOOKBACK
    rows = session.scalars(select(FaqAnswer).where(
        FaqAnswer.created_at > since, FaqAnswer.created_at <= now, FaqAnswer.review.is_(None),
        FaqAnswer.question.is_not(None), or_(FaqAnswer.feedback.is_(None), FaqAnswer.feedback != "down"))
        .order_by(FaqAnswer.id).limit(5000))
    near = [(gap, a) for a in rows if (gap := _gap(a, default_threshold)) is not None and gap <= faq.review_band]
    near.sort(key=lambda pair: (pair[0], pair[1].id))
    return sorted((a for _, a in near[:faq.review_size]), key=lambda a: a.id)  # listed in the order asked


def listed_today(session: Session, settings: Settings, now: datetime) -> bool:
    last = session.scalar(select(func.max(FaqAnswer.listed_at)))
    return last is not None and last.astimezone(settings.tz).date() == now.astimezone(settings.tz).date()


def _keyboard(answers: list[tuple[int, FaqAnswer]]) -> list[list[tuple[str, str]]]:
    return [[(texts.REVIEW_OK_BUTTON.format(n=n), buttons.make(buttons.REVIEW, a.id, "ok")),
             (texts.REVIEW_FIX_BUTTON.format(n=n), buttons.make(buttons.REVIEW, a.id, "fix"))] for n, a in answers]


def send_review_list(session: Session, settings: Settings, now: datetime | None = None,
                     default_threshold: float | None = None) -> int:
    """Send today's list unless one went out today or nothing is near the threshold. Returns how
    many answers it lists."""
    now = now or utcnow()
    chat = settings.creator_chat_id
    if chat is None or settings.faq.review_size <= 0 or listed_today(session, settings, now):
        return 0
    picked = candidates(session, settings, now, default_threshold)
    if not picked:
        return 0
    answers = {row.id: row.answer for row in session.scalars(
        select(FaqEntryRow).where(FaqEntryRow.id.in_({a.entry_id for a in picked})))}
    lines = [texts.REVIEW_HEADER.format(n=len(picked))]
    for n, a in enumerate(picked, 1):
        lines.append(texts.REVIEW_LINE.format(
            n=n, question=texts.esc(texts.clip(a.question or "", 200)),
            answer=texts.esc(texts.clip(answers.get(a.entry_id, a.entry_id), 120)), confidence=a.confidence))
    row = send_text(session, chat, "\n".join(lines), purpose=REVIEW_PURPOSE,
                    buttons=_keyboard(list(enumerate(picked, 1))))
    for a in picked:
        a.review, a.listed_at, a.list_outbox_id = "listed", now, row.id
    return len(picked)


def _shrink_list(session: Session, answer: FaqAnswer, chat_id: int, message_id: int) -> None:
    """The list's keyboard without the rows of answers already reviewed (none left: no keyboard)."""
    listed = session.scalars(select(FaqAnswer).where(FaqAnswer.list_outbox_id == answer.list_outbox_id)
                             .order_by(FaqAnswer.id))
    left = [(n, a) for n, a in enumerate(listed, 1) if a.review == "listed"]
    edit_buttons(session, chat_id, message_id, _keyboard(left) or None)


def people_quoted(session: Session, answer_id: int) -> list[int]:
    """The followers whose questions the list (or prompt) holding this answer quotes."""
    answer = session.get(FaqAnswer, answer_id)
    if answer is None:
        return []
    if answer.list_outbox_id is None:
        return [answer.user_id]
    return sorted(set(session.scalars(select(FaqAnswer.user_id).where(
        FaqAnswer.list_outbox_id == answer.list_outbox_id))))


def press(session: Session, settings: Settings, answer_id: int, choice: str, chat_id: int,
          message_id: int) -> str:
    """The creator pressed ✅, ✏️ or "hand off next time". Returns the toast."""
    answer = session.get(FaqAnswer, answer_id)
    if answer is None or not answer.question:
        return texts.FEEDBACK_UNKNOWN
    if choice == "hand":
        if answer.review != "wrong" or answer.fix_outbox_id is None:
            return texts.REVIEW_ALREADY
        edit_buttons(session, chat_id, message_id)
        return texts.REVIEW_HAND_OFF
    if answer.review != "listed":
        return texts.REVIEW_ALREADY
    if choice == "ok":
        if not mark_example(session, answer.entry_id, answer.question, "accepted", "review"):
            return texts.REVIEW_ENTRY_GONE
        answer.review = "confirmed"
        toast = texts.REVIEW_CONFIRMED
    else:
        mark_example(session, answer.entry_id, answer.question, "negative", "review")
        answer.review = "wrong"
        entry = session.get(FaqEntryRow, answer.entry_id)
        prompt = send_text(session, chat_id, texts.REVIEW_FIX_PROMPT.format(
            question=texts.esc(texts.clip(answer.question, 200)),
            answer=texts.esc(texts.clip(entry.answer if entry else answer.entry_id, 120))),
            purpose=FIX_PURPOSE, buttons=[[(texts.REVIEW_HAND_OFF_BUTTON,
                                            buttons.make(buttons.REVIEW, answer.id, "hand"))]])
        answer.fix_outbox_id = prompt.id
        toast = texts.REVIEW_HAND_OFF
    _shrink_list(session, answer, chat_id, message_id)
    return toast


def undeliverable(session: Session, row: OutboxMessage, error: str) -> None:
    """Telegram refused a list for good: its answers were never seen, so they are not "listed" (the
    next list may hold them, if they are still since the last list that arrived)."""
    if row.purpose == REVIEW_PURPOSE:
        for answer in session.scalars(select(FaqAnswer).where(FaqAnswer.list_outbox_id == row.id,
                                                              FaqAnswer.review == "listed")):
            answer.review, answer.listed_at, answer.list_outbox_id = None, None, None


def answer_for_fix(session: Session, chat_id: int, replied_message_id: int) -> FaqAnswer | None:
    """The answer whose "reply with the right answer" message the creator replies to."""
    outbox_id = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == replied_message_id,
        OutboxMessage.purpose == FIX_PURPOSE))
    if outbox_id is None:
        return None
    return session.scalar(select(FaqAnswer).where(FaqAnswer.fix_outbox_id == outbox_id))


def learn_fix(session: Session, settings: Settings, answer: FaqAnswer, right_answer: str, chat_id: int) -> None:
    """The creator's right answer to a question marked wrong: learned as an example of that answer
    (a new entry unless it exists), like a reply to a handoff. The follower is not messaged."""
    if answer.review != "wrong" or not answer.question:
        send_text(session, chat_id, texts.REVIEW_FIX_DONE.format(review=texts.esc(answer.review or "—")))
        return
    if not right_answer.strip():
        send_text(session, chat_id, texts.REVIEW_FIX_TEXT_ONLY)
        return
    accepted = settings.faq.auto_accept_answers
    answer.learned_entry_id = learn_answer(session, answer.question, right_answer, accepted, source="review",
                                           asker=answer.user_id)
    answer.review = "fixed"
    question = texts.esc(texts.clip(answer.question, 200))
    send_text(session, chat_id, (texts.REVIEW_FIXED if accepted else texts.REVIEW_FIXED_PENDING).format(
        question=question), buttons=RETRAIN_BUTTONS if accepted else None)
