"""The stored question themes: the snapshot of what the audience asked in a period, and its words.

The topics feature groups the follower questions of a period into themes (bot/topics/themes.py: read,
compute in a thread) and `save`s the snapshot hourly; the weekly report (bot/reports), /suggest and /asks
(bot/topics) read it back (`latest`), and the FAQ's one-tap "add an FAQ answer" (bot/faq) reads one
theme's questions (`theme_questions`). A snapshot stores references to the question rows ("answer:5",
"handoff:3", "dm:12", "comment:9") and counts; the one word it keeps, each theme's keyword, is stored with
whose words hold it (`keyword_by`, and a `follower_copies` row each), so /forgetme blanks it
(bot/privacy/provenance.py). What /forgetme deletes from the rows referred to disappears from it too.
`Asks.quoted` is everyone whose words a rendering of it may show: a message quoting it names them (`about`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.store import provenance
from bot.store.models import AskSnapshot, Comment, DirectMessage, FaqAnswer, Handoff, utcnow

MAX_KEYS = 12  # question references kept per theme (the label first)
FAQ_FROM_THEME = "faq:ask"  # button data "faq:ask:<snapshot id>.<theme index>", handled by the FAQ feature
_FAQ_DATA = re.compile(r"faq:ask:([1-9][0-9]{0,17})\.([0-9]{1,2})")
SOURCES = {"answer": FaqAnswer, "handoff": Handoff, "dm": DirectMessage, "comment": Comment}


@dataclass(frozen=True)
class AskTheme:
    label: str  # its most central question
    keyword: str
    askers: int
    questions: int
    status: str  # new | up | down | same (against the previous period)
    askers_before: int
    faq_share: float
    handed_off_share: float
    faq_entry: str | None
    action: str  # add_faq | post (nlp.themes.Theme.action)
    tags: list[str]  # the tags its askers engage with most (α·S·I), best first
    keys: list[str]  # references of its questions, most central first
    keyword_by: list[int] = field(default_factory=list)  # the askers whose own words hold the keyword


@dataclass
class Asks:
    start: datetime
    end: datetime
    questions: int  # follower questions in the period
    themes: list[AskTheme] = field(default_factory=list)
    gone: list[tuple[str, int]] = field(default_factory=list)  # (label, askers before) no longer asked
    snapshot_id: int | None = None
    quoted: set[int] = field(default_factory=set)  # followers whose words (labels, keywords) it may show


# ---------------------------------------------------------------------------------------------- store
def save(session: Session, asks: Asks) -> AskSnapshot:
    """The snapshot of `asks` (references and counts only); sets `asks.snapshot_id`."""
    data = {"themes": [{"keys": t.keys[:MAX_KEYS], "keyword": t.keyword, "askers": t.askers,
                        "questions": t.questions, "status": t.status, "askers_before": t.askers_before,
                        "faq_share": t.faq_share, "handed_off_share": t.handed_off_share, "faq_entry": t.faq_entry,
                        "action": t.action, "tags": t.tags, "keyword_by": t.keyword_by} for t in asks.themes],
            "gone": [{"askers_before": n} for _, n in asks.gone]}
    row = AskSnapshot(start=asks.start, end=asks.end, questions=asks.questions, data=data)
    session.add(row)
    session.flush()
    provenance.record(session, provenance.ASK_SNAPSHOT, row.id, (u for t in asks.themes for u in t.keyword_by))
    asks.snapshot_id = row.id
    return row


def question_texts(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """The texts behind question references (a deleted row is simply missing)."""
    return {key: text for key, (text, _user) in questions_asked(session, keys).items()}


def questions_asked(session: Session, keys: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """(text, who asked it) behind question references (a deleted row is simply missing)."""
    out: dict[str, tuple[str, int | None]] = {}
    for key in keys:
        kind, _, ident = key.partition(":")
        model = SOURCES.get(kind)
        if model is None or not ident.isdigit():
            continue
        row = session.get(model, int(ident))
        text = getattr(row, "question" if kind in ("answer", "handoff") else "text", None) if row else None
        if text:
            out[key] = (text, getattr(row, "user_id", None))
    return out


def load(session: Session, row: AskSnapshot) -> Asks:
    """A stored snapshot as `Asks` (labels read from the questions it refers to)."""
    items = list((row.data or {}).get("themes", []))
    asked = questions_asked(session, [k for t in items for k in t.get("keys", [])])
    found = {key: text for key, (text, _user) in asked.items()}
    asks = Asks(row.start, row.end, row.questions, snapshot_id=row.id)
    for t in items:
        keys = [k for k in t.get("keys", []) if k in found]
        if not keys:
            continue  # every question of it was forgotten
        keyword_by = [int(u) for u in t.get("keyword_by", [])]
        asks.quoted.update(keyword_by, (u for k in keys if (u := asked[k][1]) is not None))
        asks.themes.append(AskTheme(
            label=found[keys[0]], keyword=str(t.get("keyword", "")), keyword_by=keyword_by, askers=int(t.get("askers", 0)),
            questions=int(t.get("questions", 0)), status=str(t.get("status", "new")),
            askers_before=int(t.get("askers_before", 0)), faq_share=float(t.get("faq_share", 0.0)),
            handed_off_share=float(t.get("handed_off_share", 0.0)), faq_entry=t.get("faq_entry"),
            action=str(t.get("action", "add_faq")), tags=list(t.get("tags", [])), keys=keys))
    return asks


def latest(session: Session, max_age: timedelta | None = None, now: datetime | None = None) -> Asks | None:
    """The newest snapshot (None when there is none, or it is older than `max_age`)."""
    row = session.scalars(select(AskSnapshot).order_by(AskSnapshot.created_at.desc(), AskSnapshot.id.desc())
                          .limit(1)).first()
    if row is None or (max_age is not None and (now or utcnow()) - row.created_at > max_age):
        return None
    return load(session, row)


def theme_questions(session: Session, snapshot_id: int, index: int) -> tuple[str, dict[str, list[int]]]:
    """(label, distinct question texts with who asked each) of a stored theme, for the FAQ's "add an FAQ
    answer" (empty when gone)."""
    row = session.get(AskSnapshot, snapshot_id)
    if row is None:
        return "", {}
    items = list((row.data or {}).get("themes", []))
    if not 0 <= index < len(items):
        return "", {}
    questions: dict[str, list[int]] = {}
    for text, user_id in questions_asked(session, items[index].get("keys", [])).values():
        askers = questions.setdefault(text.strip(), [])
        if user_id is not None and user_id not in askers:
            askers.append(user_id)
    return next(iter(questions), ""), questions


def faq_button_data(snapshot_id: int, index: int) -> str:
    return f"{FAQ_FROM_THEME}:{snapshot_id}.{index}"


def parse_faq_button(data: object) -> tuple[int, int] | None:
    """(snapshot id, theme index) of an "add an FAQ answer" button, or None."""
    if not isinstance(data, str) or len(data) > 64:
        return None
    m = _FAQ_DATA.fullmatch(data)
    return (int(m.group(1)), int(m.group(2))) if m else None


# ---------------------------------------------------------------------------------------------- words
def _change(t: AskTheme) -> str:
    if t.status == "new":
        return texts.ASKS_NEW
    if t.status == "same":
        return texts.ASKS_SAME.format(before=t.askers_before)
    return (texts.ASKS_UP if t.status == "up" else texts.ASKS_DOWN).format(before=t.askers_before)


def theme_lines(t: AskTheme, rank: int) -> list[str]:
    """One theme in Telegram HTML: label, askers and change, FAQ coverage, the action."""
    coverage = texts.ASKS_COVERAGE.format(faq=t.faq_share * 100, handed=t.handed_off_share * 100)
    if t.action == "post" and t.tags:
        action = texts.ASKS_ACTION_POST_TAGS.format(tags=", ".join(f"#{texts.esc(x)}" for x in t.tags))
    else:
        action = texts.ASKS_ACTIONS[t.action]
    return [texts.ASKS_THEME.format(rank=rank, label=texts.esc(texts.clip(t.label, 120)), askers=t.askers,
                                    questions=t.questions, change=_change(t)),
            texts.ASKS_DETAIL.format(coverage=coverage, action=action)]


def section_lines(asks: Asks, limit: int = 8) -> list[str]:
    if not asks.themes:
        return [texts.ASKS_NONE.format(n=asks.questions)]
    lines: list[str] = []
    for rank, t in enumerate(asks.themes[:limit], 1):
        lines += theme_lines(t, rank)
    for label, before in asks.gone[:3]:
        lines.append(texts.ASKS_GONE.format(label=texts.esc(texts.clip(label, 80)), before=before))
    return lines


def buttons(asks: Asks, limit: int = 8) -> list[list[tuple[str, str]]]:
    if asks.snapshot_id is None:
        return []
    return [[(texts.ASKS_FAQ_BUTTON.format(rank=rank, keyword=texts.clip(t.keyword or t.label, 24)),
              faq_button_data(asks.snapshot_id, rank - 1))]
            for rank, t in enumerate(asks.themes[:limit], 1) if t.action == "add_faq"]
