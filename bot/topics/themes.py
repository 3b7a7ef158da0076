"""What the audience is asking: the follower questions of a period grouped into themes (`nlp.themes`).

Used by `/asks` and the hourly snapshot (bot/topics/asks.py) and the dashboard. Three steps, so no model
runs inside a transaction or on the event loop: `read_input` (a session, quick reads), `compute` (plain
data and the encoders: call it in a thread), then `bot.kernel.asks.save` (a transaction: the snapshot the
weekly report, /suggest and the FAQ's "add an FAQ answer" read).

The questions of a period: automatic FAQ answers (`FaqAnswer`: the FAQ answered it), handoffs (`Handoff`:
passed on to the creator), other messages to the bot that read as questions (`DirectMessage`, not already
one of the first two) and comments that are questions (`nlp.questions.is_question`, English and Chinese).
The creator's own messages never count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.kernel.asks import MAX_KEYS, Asks, AskTheme
from bot.store import provenance
from bot.store.models import Comment, DirectMessage, FaqAnswer, Handoff, utcnow
from bot.topics.interest import Dataset, fit_interest, load_dataset
from nlp.encoder import Encoder
from nlp.questions import is_question
from nlp.themes import Asked, Theme, ThemeChange, compare, find_themes

PERIOD = timedelta(days=7)


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
                asks.quoted.update(provenance.people(change.previous.asker_ids))
            continue
        asks.themes.append(_ask_theme(theme, change, top_tags(theme)))
        asks.quoted.update(provenance.people(theme.asker_ids))
    return asks



def _ask_theme(theme: Theme, change: ThemeChange, tags: list[str]) -> AskTheme:
    keys = [str(k) for k in theme.example_ids]
    return AskTheme(label=theme.label, keyword=theme.keyword, askers=theme.askers, questions=theme.questions,
                    status=change.status, askers_before=change.askers_before, faq_share=theme.faq_share,
                    handed_off_share=theme.handed_off_share, faq_entry=theme.faq_entry, action=theme.action,
                    tags=tags, keys=keys, keyword_by=provenance.people(theme.keyword_by))


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
