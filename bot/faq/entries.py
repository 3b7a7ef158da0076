"""The FAQ's stored entries and example questions: importing, what a version trains on, and learning
from the creator's answers (learned examples wait for review when the config asks for it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import (
    FaqAnswer,
    FaqEntryRow,
    FaqExample,
    FaqExamplePerson,
    Handoff,
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


def negative_examples(session: Session) -> list[tuple[str, str]]:
    """(entry id, question) of every question marked as not answered by an active entry."""
    return [(entry_id, question) for entry_id, question in session.execute(
        select(FaqExample.entry_id, FaqExample.question).join(FaqEntryRow)
        .where(FaqEntryRow.active.is_(True), FaqExample.status == "negative").order_by(FaqExample.id))]


def confirmed_questions(session: Session) -> set[str]:
    """Questions the creator confirmed the model's own answer to (✅ in the daily list, a draft sent as suggested).
    They teach the head but make at most a capped share of what calibrates its confidence: they were picked for being
    near the threshold and right, an easier sample than the traffic (FaqMatcher.fit's `confirmed`)."""
    listed = session.scalars(select(FaqAnswer.question).where(FaqAnswer.review == "confirmed",
                                                             FaqAnswer.question.is_not(None)))
    drafts = session.scalars(select(Handoff.question).where(
        Handoff.kind == "draft", Handoff.status == "answered", Handoff.answer == Handoff.suggested_answer,
        Handoff.question.is_not(None)))
    return {q.strip() for q in [*listed, *drafts] if q and q.strip()}


# The window over which the share of questions handed off is read (Lessons.handoff_share)
TRAFFIC_WINDOW = timedelta(days=7)


def handed_off_questions(session: Session) -> set[str]:
    """Accepted examples learned from handoffs (the creator's answer to a question the bot passed on)."""
    return {q.strip() for q in session.scalars(select(FaqExample.question).where(
        FaqExample.source == "handoff", FaqExample.status == "accepted")) if q and q.strip()}


def handoff_share(session: Session, now: datetime | None = None) -> float | None:
    """Of the questions the FAQ answered or learned from a handoff in the last TRAFFIC_WINDOW, the share learned
    from handoffs (None without any): what the examples learned from handoffs stand for in the traffic."""
    since = (now or utcnow()) - TRAFFIC_WINDOW
    learned = int(session.scalar(select(func.count()).select_from(FaqExample).where(
        FaqExample.source == "handoff", FaqExample.status == "accepted", FaqExample.created_at > since)) or 0)
    answered = int(session.scalar(select(func.count()).select_from(FaqAnswer).where(
        FaqAnswer.created_at > since)) or 0)
    return learned / (learned + answered) if learned + answered else None


@dataclass(frozen=True)
class Lessons:
    """What the traffic taught beyond the examples, for FaqMatcher.fit: questions marked wrong for an entry, the
    creator's confirmations, the examples learned from handoffs and the share of recent questions handed off."""

    negatives: list[tuple[str, str]] = field(default_factory=list)
    confirmed: set[str] = field(default_factory=set)
    handed_off: set[str] = field(default_factory=set)
    handoff_share: float | None = None

    @classmethod
    def read(cls, session: Session, now: datetime | None = None) -> Lessons:
        return cls(negative_examples(session), confirmed_questions(session), handed_off_questions(session),
                   handoff_share(session, now))

    def fit_kwargs(self) -> dict[str, Any]:
        return {"negatives": list(self.negatives), "confirmed": set(self.confirmed),
                "handed_off": set(self.handed_off), "handoff_share": self.handoff_share}


def examples_since(session: Session, trained_at: float) -> int:
    """New accepted and negative examples since a version trained at `trained_at` (what a retrain adds)."""
    since = datetime.fromtimestamp(trained_at, UTC)
    return int(session.scalar(select(func.count()).select_from(FaqExample).where(
        FaqExample.status.in_(("accepted", "negative")), FaqExample.created_at > since)) or 0)


def link_example(session: Session, example: FaqExample, user_id: int) -> None:
    """The example is this follower's question: /forgetme deletes it (unless another follower asked it too)."""
    session.flush()
    if session.get(FaqExamplePerson, (example.id, user_id)) is None:
        session.add(FaqExamplePerson(example_id=example.id, user_id=user_id))


def mark_example(session: Session, entry_id: str, question: str, status: str, source: str,
                 override: bool = True) -> bool:
    """Make `question` an accepted or a negative example of `entry_id` (the other kind of the same
    question is turned around when `override`: the creator's word wins; a follower's 👎 never undoes
    an accepted example). Returns whether the entry now holds it with that status."""
    question = question.strip()
    if not question or session.get(FaqEntryRow, entry_id) is None:
        return False
    row = session.scalar(select(FaqExample).where(FaqExample.entry_id == entry_id, FaqExample.question == question))
    if row is None:
        session.add(FaqExample(entry_id=entry_id, question=question, source=source, status=status))
        session.flush()
        return True
    if row.status == status:
        return True
    if row.status == "accepted" and not override:
        return False
    row.status, row.source, row.created_at = status, source, utcnow()  # new for the next retrain
    return True


def learn_answer(session: Session, question: str, answer: str, accepted: bool, source: str = "handoff",
                 asker: int | None = None) -> str:
    """Make the question the creator answered an FAQ example of their answer (a new entry unless the
    answer already exists). Only that one question: follow-ups appended while the handoff was open
    are not examples, so nobody can attach other questions to an unrelated answer. With
    `auto_accept_answers = false` the example waits for review (`creatorbot faq review`). The example
    remembers `asker`, the follower who asked it."""
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
    status = "accepted" if accepted else "pending"
    if duplicate is None and question:
        duplicate = FaqExample(entry_id=existing.id, question=question, source=source, status=status)
        session.add(duplicate)
    elif duplicate is not None and duplicate.status == "negative":  # marked wrong before: the creator's answer wins
        duplicate.status, duplicate.source, duplicate.created_at = status, source, utcnow()
    if duplicate is not None and duplicate.source not in ("file", "creator") and asker is not None:
        link_example(session, duplicate, asker)  # a follower's question (another may have asked it too)
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
