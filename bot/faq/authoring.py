"""Authoring the FAQ, one use case for the chat and the dashboard: a file sent to the bot, `/faq add`
(question, then answer), list and remove entries, handed-off questions without an entry, and editing
answers and example questions by hand; every change offers a retrain."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.faq.entries import import_entries, link_example
from bot.faq.model import live_model
from bot.kernel.buttons import RETRAIN_BUTTONS
from bot.kernel.outbox import send_text
from bot.kernel.services import Services
from bot.kernel.stats import faq_entry_count as entry_count
from bot.store import provenance
from bot.store.models import (
    ChatDialog,
    FaqAnswer,
    FaqEntryRow,
    FaqExample,
    FaqExamplePerson,
    Handoff,
    utcnow,
)
from nlp.faq_data import FaqEntry, FaqFileError, entry_id_for, normalize_question, parse_faq_text

FAQ_PREFIX = "faq"
BUTTON_DATA_LIMIT = 64  # bytes of callback data Telegram accepts
ADD_DIALOG = "faq_add"
DIALOG_EXPIRES = timedelta(minutes=30)
MAX_FILE_BYTES = 2 * 1024 * 1024
LIST_LIMIT = 30
MAX_ANSWER = 4096  # UTF-16 units in one Telegram message: a longer answer could never reach a follower


def answer_problem(answer: str) -> str | None:
    """Why `answer` cannot be an FAQ answer (plain text), or None. The one check of the chat (`/faq add`,
    a file) and the dashboard: the answer is sent as it is, so it must fit in one message."""
    answer = answer.strip()
    if not answer:
        return texts.FAQ_ANSWER_EMPTY
    length = texts.utf16_len(answer)
    if length > MAX_ANSWER:
        return texts.FAQ_ANSWER_TOO_LONG.format(n=length, limit=MAX_ANSWER)
    return None



def overview(services: Services, session: Session, chat_id: int) -> None:
    """/faq: how many entries, which model, and what to do."""
    model = live_model(services)
    version = model.version if model is not None else None
    send_text(session, chat_id, texts.FAQ_OVERVIEW.format(
        entries=entry_count(session), version=version or texts.FAQ_NO_MODEL))


# --- a file sent to the bot -------------------------------------------------------------------

def too_big(size: int | None) -> bool:
    return size is not None and size > MAX_FILE_BYTES


def import_file(session: Session, chat_id: int, file_name: str, data: bytes) -> bool:
    """Parse a CSV or YAML FAQ file (as `creatorbot faq import`) and store it; the reply says what happened."""
    try:
        entries = parse_faq_text(data.decode("utf-8-sig"), file_name)
    except UnicodeDecodeError:
        send_text(session, chat_id, texts.FAQ_FILE_NOT_UTF8.format(name=texts.esc(file_name)))
        return False
    except FaqFileError as exc:
        _file_problems(session, chat_id, file_name, exc.problems)
        return False
    problems = [texts.FAQ_ANSWER_IN_FILE.format(question=texts.clip(e.questions[0] if e.questions else e.id, 60),
                                                problem=problem)
                for e in entries if (problem := answer_problem(e.answer)) is not None]
    if problems:
        _file_problems(session, chat_id, file_name, problems)
        return False
    summary = import_entries(session, entries)
    send_text(session, chat_id, texts.FAQ_IMPORTED.format(
        entries=summary.entries, questions=summary.questions, new_entries=summary.new_entries,
        new_questions=summary.new_questions), buttons=RETRAIN_BUTTONS)
    return True


def _file_problems(session: Session, chat_id: int, file_name: str, problems: list[str]) -> None:
    shown = "\n".join(f"• {texts.esc(texts.clip(p, 300))}" for p in problems[:15])
    more = len(problems) - 15
    send_text(session, chat_id, texts.FAQ_FILE_PROBLEMS.format(
        name=texts.esc(file_name), n=len(problems), problems=shown,
        more=texts.FAQ_FILE_MORE.format(n=more) if more > 0 else ""))


# --- /faq add: question, then answer -----------------------------------------------------------

def start_add(session: Session, chat_id: int) -> None:
    dialog = session.get(ChatDialog, chat_id)
    if dialog is None:
        session.add(ChatDialog(chat_id=chat_id, kind=ADD_DIALOG, data={"step": "question"}))
    else:
        dialog.kind, dialog.data, dialog.updated_at = ADD_DIALOG, {"step": "question"}, utcnow()
    send_text(session, chat_id, texts.FAQ_ADD_QUESTION)


def start_add_prefilled(session: Session, chat_id: int, label: str, questions: dict[str, list[int]]) -> None:
    """`/faq add` with the questions already given (a question theme's "add an FAQ answer", each question
    with the followers who asked it): the answer is next. The dialog and the prompt record whose they are."""
    dialog = session.get(ChatDialog, chat_id)
    data = {"step": "answer", "questions": list(questions), "asked_by": [list(v) for v in questions.values()]}
    if dialog is None:
        session.add(ChatDialog(chat_id=chat_id, kind=ADD_DIALOG, data=data))
    else:
        dialog.kind, dialog.data, dialog.updated_at = ADD_DIALOG, data, utcnow()
    askers = [u for people in questions.values() for u in people]
    session.flush()
    provenance.record(session, provenance.CHAT_DIALOG, chat_id, askers)
    listed = "\n".join(f"• {texts.esc(texts.clip(q, 120))}" for q in questions)
    send_text(session, chat_id, texts.FAQ_FROM_THEME.format(label=texts.esc(texts.clip(label, 120)),
                                                            n=len(questions), questions=listed), about=askers)


def _delete(session: Session, entity: type[Any], key: Any) -> bool:
    """Delete the row with primary key `key`; False when there is none."""
    row = session.get(entity, key)
    if row is None:
        return False
    session.delete(row)
    return True


def cancel_dialog(session: Session, chat_id: int) -> bool:
    return _delete(session, ChatDialog, chat_id)


def continue_dialog(services: Services, session: Session, chat_id: int, text: str) -> bool:
    """Feed the creator's message to a conversation in progress; False when there is none."""
    dialog = session.get(ChatDialog, chat_id)
    if dialog is None:
        return False
    if utcnow() - dialog.updated_at > DIALOG_EXPIRES:
        session.delete(dialog)
        return False
    if dialog.kind != ADD_DIALOG:
        return False
    if dialog.data.get("step") == "question":
        questions = [q.strip() for q in text.split("\n") if q.strip()]
        dialog.data = {"step": "answer", "questions": questions}
        dialog.updated_at = utcnow()
        send_text(session, chat_id, texts.FAQ_ADD_ANSWER.format(n=len(questions)))
        return True
    questions = list(dialog.data.get("questions") or [])
    answer = text.strip()
    problem = answer_problem(answer)
    if problem is not None:  # the dialog waits for a better answer: the questions are kept
        dialog.updated_at = utcnow()
        send_text(session, chat_id, texts.esc(problem))
        return True
    session.delete(dialog)
    entry_id = entry_id_for(answer)
    known = set(session.scalars(select(FaqExample.question).where(FaqExample.entry_id == entry_id)))
    summary = import_entries(session, [FaqEntry(entry_id, answer, questions)])
    # a question from a theme is a follower's: the example made of it goes with them (/forgetme)
    for question, people in zip(questions, dialog.data.get("asked_by") or [], strict=False):
        example = None if question in known else session.scalar(select(FaqExample).where(
            FaqExample.entry_id == entry_id, FaqExample.question == question))
        if example is not None:
            for user_id in people:
                link_example(session, example, int(user_id))
    send_text(session, chat_id, texts.FAQ_ADDED.format(
        id=entry_id, questions=len(questions), new=summary.new_questions, total=entry_count(session)),
        buttons=RETRAIN_BUTTONS)
    return True


# --- list, remove, unanswered ------------------------------------------------------------------

def list_entries(session: Session, chat_id: int) -> None:
    rows = list(session.scalars(select(FaqEntryRow).where(FaqEntryRow.active.is_(True)).order_by(FaqEntryRow.created_at)))
    if not rows:
        send_text(session, chat_id, texts.FAQ_EMPTY)
        return
    counts = {entry_id: int(n) for entry_id, n in session.execute(
        select(FaqExample.entry_id, func.count()).where(FaqExample.status == "accepted").group_by(FaqExample.entry_id))}
    firsts: dict[str, tuple[int, str]] = {}
    for example_id, entry_id, question in session.execute(select(FaqExample.id, FaqExample.entry_id,
                                                                 FaqExample.question).order_by(FaqExample.id)):
        firsts.setdefault(entry_id, (example_id, question))
    shown = rows[:LIST_LIMIT]
    quoted = [firsts[r.id][0] for r in shown if r.id in firsts]
    askers = set(session.scalars(select(FaqExamplePerson.user_id).where(FaqExamplePerson.example_id.in_(quoted))))
    lines = [texts.FAQ_LIST_HEADER.format(n=len(rows))] + [texts.FAQ_LIST_LINE.format(
        id=texts.esc(r.id), question=texts.esc(texts.clip(firsts.get(r.id, (0, "—"))[1], 60)),
        n=counts.get(r.id, 0), answer=texts.esc(texts.clip(r.answer, 80))) for r in shown]
    if len(rows) > LIST_LIMIT:
        lines.append(texts.FAQ_LIST_MORE.format(n=len(rows) - LIST_LIMIT))
    buttons = [[(f"✖ {texts.clip(r.id, 40)}", remove_button(r.id))] for r in shown]
    send_text(session, chat_id, "\n".join(lines), buttons=buttons, about=askers)  # their questions


def remove_button(entry_id: str) -> str:
    """The ✖ button's data for an entry: its id, or (an id too long for Telegram's 64 bytes) `#` and a hash."""
    data = f"{FAQ_PREFIX}:rm:{entry_id}"
    if len(data.encode()) <= BUTTON_DATA_LIMIT:
        return data
    return f"{FAQ_PREFIX}:rm:#{_hashed(entry_id)}"


def _hashed(entry_id: str) -> str:
    return hashlib.sha256(entry_id.encode()).hexdigest()[:20]


def entry_of_button(session: Session, ref: str) -> str:
    """The entry id a ✖ button names (the hashed form looked up among the active entries)."""
    if not ref.startswith("#"):
        return ref
    for entry_id in session.scalars(select(FaqEntryRow.id).where(FaqEntryRow.active.is_(True))):
        if _hashed(entry_id) == ref[1:]:
            return str(entry_id)
    return ref


def remove_entry(session: Session, chat_id: int, entry_id: str) -> bool:
    row = session.get(FaqEntryRow, entry_id)
    if row is None or not row.active:
        send_text(session, chat_id, texts.FAQ_REMOVE_UNKNOWN.format(id=texts.esc(entry_id)))
        return False
    row.active = False
    send_text(session, chat_id, texts.FAQ_REMOVED.format(id=texts.esc(entry_id), total=entry_count(session)),
              buttons=RETRAIN_BUTTONS)
    return True


def unanswered(session: Session, chat_id: int, limit: int = 20) -> None:
    """Handed-off questions that did not become an FAQ entry (open ones first)."""
    rows = list(session.scalars(select(Handoff).where(Handoff.learned_entry_id.is_(None), Handoff.question.is_not(None))
                                .order_by((Handoff.status == "open").desc(), Handoff.created_at.desc()).limit(limit)))
    if not rows:
        send_text(session, chat_id, texts.FAQ_UNANSWERED_NONE)
        return
    lines = [texts.FAQ_UNANSWERED_HEADER] + [texts.FAQ_UNANSWERED_LINE.format(
        id=h.id, status=h.status, question=texts.esc(texts.clip(h.question or "", 120))) for h in rows]
    send_text(session, chat_id, "\n".join(lines), about=[h.user_id for h in rows])


def has_entries(session: Session) -> bool:
    return entry_count(session) > 0


# --- editing by hand (the dashboard): answers and example questions ---------------------------------

def edit_answer(session: Session, entry_id: str, answer: str) -> str | None:
    """Replace an entry's answer; None when saved, else why not (plain text; nothing changed)."""
    row = session.get(FaqEntryRow, entry_id)
    if row is None:
        return texts.FAQ_ENTRY_GONE
    problem = answer_problem(answer)
    if problem is not None:
        return problem
    row.answer = answer.strip()
    return None


def add_example(session: Session, entry_id: str, question: str, handoff_id: int | None = None,
                answer_id: int | None = None) -> bool:
    """An accepted example question for an entry (a duplicate is ignored). `handoff_id` / `answer_id`:
    the question is a follower's, from that handoff or automatic answer (the dashboard's "Add as
    example"); the example remembers the follower, so /forgetme deletes it with the rest of theirs."""
    question = question.strip()
    if session.get(FaqEntryRow, entry_id) is None or not question:
        return False
    source = session.get(Handoff, handoff_id) if handoff_id is not None else (
        session.get(FaqAnswer, answer_id) if answer_id is not None else None)
    if (handoff_id is not None or answer_id is not None) and source is None:
        return False  # forgotten meanwhile: their question is not kept
    known = {normalize_question(q) for q in session.scalars(
        select(FaqExample.question).where(FaqExample.entry_id == entry_id))}
    if normalize_question(question) in known:
        pending = session.scalar(select(FaqExample).where(FaqExample.entry_id == entry_id,
                                                          FaqExample.question == question))
        if pending is not None:
            pending.status = "accepted"
            if source is not None and pending.source != "file":  # their question too
                link_example(session, pending, source.user_id)
        return True
    example = FaqExample(entry_id=entry_id, question=question, source="creator", status="accepted")
    session.add(example)
    if source is not None:
        link_example(session, example, source.user_id)
    return True


def remove_example(session: Session, example_id: int) -> bool:
    return _delete(session, FaqExample, example_id)
