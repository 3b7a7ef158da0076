"""What the audience is asking: the follower questions of a period grouped into themes (`nlp.themes`).

Shared by `/asks` and `/suggest` (bot/topics), the weekly report (bot/reports), the FAQ's one-tap "add an
FAQ answer" (bot/faq) and the dashboard. Three steps, so no model runs inside a transaction or on the
event loop: `read_input` (a session, quick reads), `compute` (plain data and the encoders: call it in a
thread), `save` (a transaction: the snapshot the report, /suggest and the FAQ button read).

The questions of a period: automatic FAQ answers (`FaqAnswer`: the FAQ answered it), handoffs (`Handoff`:
passed on to the creator), other messages to the bot that read as questions (`DirectMessage`, not already
one of the first two) and comments that are questions (`nlp.questions.is_question`, English and Chinese).
The creator's own messages never count. A snapshot stores references to those rows ("answer:5",
"handoff:3", "dm:12", "comment:9") and counts, never texts: what /forgetme deletes disappears from it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.interest import Dataset, fit_interest, load_dataset
from bot.store.models import AskSnapshot, Comment, DirectMessage, FaqAnswer, Handoff, utcnow
from nlp.encoder import Encoder
from nlp.questions import is_question
from nlp.themes import Asked, Theme, ThemeChange, compare, find_themes

PERIOD = timedelta(days=7)
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


@dataclass
class Asks:
    start: datetime
    end: datetime
    questions: int  # follower questions in the period
    themes: list[AskTheme] = field(default_factory=list)
    gone: list[tuple[str, int]] = field(default_factory=list)  # (label, askers before) no longer asked
    snapshot_id: int | None = None


@dataclass(frozen=True)
class AsksInput:
    start: datetime
    end: datetime
    now: list[Asked]
    before: list[Asked]
    data: Dataset
    settings: Settings


# ---------------------------------------------------------------------------------------------- read
def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def gather(session: Session, settings: Settings, start: datetime, end: datetime,
           dates: dict[str, datetime] | None = None) -> list[Asked]:
    """The follower questions of [start, end), each once (a message the FAQ answered or handed off is
    not counted again as a message). `dates`, when given, receives each question's time by its id."""
    creators = set(settings.creator.user_ids)
    out: list[Asked] = []
    seen: set[tuple[int, str]] = set()

    def add(asked: Asked, at: datetime) -> None:
        key = (int(asked.asker), _key(asked.text))  # type: ignore[call-overload]
        if asked.asker in creators or not asked.text.strip() or key in seen:
            return
        seen.add(key)
        out.append(asked)
        if dates is not None:
            dates[str(asked.id)] = at

    for a in session.scalars(select(FaqAnswer).where(FaqAnswer.created_at >= start, FaqAnswer.created_at < end,
                                                     FaqAnswer.question.is_not(None)).order_by(FaqAnswer.id)):
        add(Asked(a.question or "", a.user_id, f"answer:{a.id}", faq_entry=a.entry_id), a.created_at)
    for h in session.scalars(select(Handoff).where(Handoff.created_at >= start, Handoff.created_at < end,
                                                   Handoff.question.is_not(None)).order_by(Handoff.id)):
        add(Asked(h.question or "", h.user_id, f"handoff:{h.id}", handed_off=True), h.created_at)
    for d in session.scalars(select(DirectMessage).where(
            DirectMessage.direction == "in", DirectMessage.created_at >= start, DirectMessage.created_at < end,
            DirectMessage.text.is_not(None)).order_by(DirectMessage.id)):
        text = d.text or ""
        if not text.startswith("/") and is_question(text):
            add(Asked(text, d.user_id, f"dm:{d.id}"), d.created_at)
    for c in session.scalars(select(Comment).where(Comment.created_at >= start, Comment.created_at < end,
                                                   Comment.text.is_not(None), Comment.user_id.is_not(None))
                             .order_by(Comment.id)):
        if is_question(c.text or ""):
            add(Asked(c.text or "", int(c.user_id or 0), f"comment:{c.id}"), c.created_at)
    return out


def read_input(session: Session, settings: Settings, end: datetime | None = None,
               period: timedelta = PERIOD) -> AsksInput:
    """Everything `compute` needs: this period's questions, the previous period's, and the interactions."""
    end = end or utcnow()
    start = end - period
    return AsksInput(start, end, gather(session, settings, start, end),
                     gather(session, settings, start - period, start), load_dataset(session, settings), settings)


# ---------------------------------------------------------------------------------------------- compute
def compute(inp: AsksInput, encoder: Encoder, multilingual: Callable[[], Encoder] | None = None) -> Asks:
    """Themes of the period against the previous one, with each theme's askers' top tags (blocking:
    run it in a thread)."""
    rc = inp.settings.recsys
    cuts: dict[str, Any] = {"threshold": rc.theme_threshold or None,
                            "multilingual_threshold": rc.theme_threshold_multilingual or None}
    now = find_themes(inp.now, encoder, multilingual=multilingual, max_examples=MAX_KEYS, **cuts) if inp.now else []
    before = find_themes(inp.before, encoder, multilingual=multilingual, **cuts) if inp.before else []
    changes = compare(before, now)
    top_tags = _tag_finder(inp)
    asks = Asks(inp.start, inp.end, len(inp.now))
    for change in changes:
        theme = change.theme
        if theme is None:
            if change.previous is not None:
                asks.gone.append((change.previous.label, change.askers_before))
            continue
        asks.themes.append(_ask_theme(theme, change, top_tags(theme)))
    return asks


def _ask_theme(theme: Theme, change: ThemeChange, tags: list[str]) -> AskTheme:
    keys = [str(k) for k in theme.example_ids]
    return AskTheme(label=theme.label, keyword=theme.keyword, askers=theme.askers, questions=theme.questions,
                    status=change.status, askers_before=change.askers_before, faq_share=theme.faq_share,
                    handed_off_share=theme.handed_off_share, faq_entry=theme.faq_entry, action=theme.action,
                    tags=tags, keys=keys)


def _tag_finder(inp: AsksInput) -> Callable[[Theme], list[str]]:
    data = inp.data
    if not data.tags or not data.followers:
        return lambda theme: []
    model = fit_interest(data, inp.settings, inp.end)
    row = {u: i for i, u in enumerate(data.followers)}

    def tags(theme: Theme) -> list[str]:
        rows = [row[a] for a in theme.asker_ids if a in row]  # type: ignore[index]
        return [data.tags[t] for t, weight in model.group_tags(rows, k=3) if weight > 0]

    return tags


def find_asks(session_factory: Callable[[], Session], settings: Settings, encoder: Encoder,
              multilingual: Callable[[], Encoder] | None = None, end: datetime | None = None) -> Asks:
    """Read and compute in one call (blocking; the dashboard's read thread, the CLI and tests)."""
    with session_factory() as session:
        inp = read_input(session, settings, end)
    return compute(inp, encoder, multilingual)


# ---------------------------------------------------------------------------------------------- store
def save(session: Session, asks: Asks, inp: AsksInput | None = None) -> AskSnapshot:
    """The snapshot of `asks` (references and counts only); sets `asks.snapshot_id`."""
    data = {"themes": [{"keys": t.keys[:MAX_KEYS], "keyword": t.keyword, "askers": t.askers,
                        "questions": t.questions, "status": t.status, "askers_before": t.askers_before,
                        "faq_share": t.faq_share, "handed_off_share": t.handed_off_share, "faq_entry": t.faq_entry,
                        "action": t.action, "tags": t.tags} for t in asks.themes],
            "gone": [{"askers_before": n} for _, n in asks.gone]}
    row = AskSnapshot(start=asks.start, end=asks.end, questions=asks.questions, data=data)
    session.add(row)
    session.flush()
    asks.snapshot_id = row.id
    return row


def question_texts(session: Session, keys: Sequence[str]) -> dict[str, str]:
    """The texts behind question references (a deleted row is simply missing)."""
    out: dict[str, str] = {}
    for key in keys:
        kind, _, ident = key.partition(":")
        model = SOURCES.get(kind)
        if model is None or not ident.isdigit():
            continue
        row = session.get(model, int(ident))
        text = getattr(row, "question" if kind in ("answer", "handoff") else "text", None) if row else None
        if text:
            out[key] = text
    return out


def load(session: Session, row: AskSnapshot) -> Asks:
    """A stored snapshot as `Asks` (labels read from the questions it refers to)."""
    items = list((row.data or {}).get("themes", []))
    found = question_texts(session, [k for t in items for k in t.get("keys", [])])
    asks = Asks(row.start, row.end, row.questions, snapshot_id=row.id)
    for t in items:
        keys = [k for k in t.get("keys", []) if k in found]
        if not keys:
            continue  # every question of it was forgotten
        asks.themes.append(AskTheme(
            label=found[keys[0]], keyword=str(t.get("keyword", "")), askers=int(t.get("askers", 0)),
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


def theme_questions(session: Session, snapshot_id: int, index: int) -> tuple[str, list[str]]:
    """(label, distinct question texts) of a stored theme, for the FAQ's "add an FAQ answer" ([] when gone)."""
    row = session.get(AskSnapshot, snapshot_id)
    if row is None:
        return "", []
    items = list((row.data or {}).get("themes", []))
    if not 0 <= index < len(items):
        return "", []
    found = question_texts(session, items[index].get("keys", []))
    questions = list(dict.fromkeys(found[k].strip() for k in items[index].get("keys", []) if k in found))
    return (questions[0] if questions else ""), questions


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


def render(asks: Asks, tz: Any, limit: int = 8) -> tuple[str, list[list[tuple[str, str]]]]:
    """The /asks message (Telegram HTML) and its buttons (one "add an FAQ answer" per theme that needs one)."""
    start, end = asks.start.astimezone(tz), (asks.end - timedelta(seconds=1)).astimezone(tz)
    lines = [texts.ASKS_HEADER.format(start=f"{start:%d %b}", end=f"{end:%d %b}", n=asks.questions)]
    lines += section_lines(asks, limit)
    return "\n".join(lines), buttons(asks, limit)


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
