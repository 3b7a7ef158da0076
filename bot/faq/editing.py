"""Editing the FAQ by hand (the dashboard): answers and example questions. A retrain makes it live."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import FaqEntryRow, FaqExample
from nlp.faq_data import normalize_question


def edit_answer(session: Session, entry_id: str, answer: str) -> bool:
    row = session.get(FaqEntryRow, entry_id)
    if row is None or not answer.strip():
        return False
    row.answer = answer.strip()
    return True


def add_example(session: Session, entry_id: str, question: str) -> bool:
    """An accepted example question for an entry (a duplicate is ignored)."""
    question = question.strip()
    if session.get(FaqEntryRow, entry_id) is None or not question:
        return False
    known = {normalize_question(q) for q in session.scalars(
        select(FaqExample.question).where(FaqExample.entry_id == entry_id))}
    if normalize_question(question) in known:
        pending = session.scalar(select(FaqExample).where(FaqExample.entry_id == entry_id,
                                                          FaqExample.question == question))
        if pending is not None:
            pending.status = "accepted"
        return True
    session.add(FaqExample(entry_id=entry_id, question=question, source="creator", status="accepted"))
    return True


def remove_example(session: Session, example_id: int) -> bool:
    row = session.get(FaqExample, example_id)
    if row is None:
        return False
    session.delete(row)
    return True
