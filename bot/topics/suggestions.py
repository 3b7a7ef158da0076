"""What and when to post: stored interactions -> recsys models -> suggestions with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.engagement import (
    TagInteractions,
    average_per_post,
    post_interactions,
    tag_interactions,
)
from bot.store.models import ChannelPost, Comment, PostReactions, PostTag, utcnow
from bot.topics.interest import fit_interest, load_dataset
from recsys.abtest import ABResult, compare
from recsys.interest import TagScore
from recsys.tags import normalize_tag

SUGGEST_WINDOW = timedelta(days=30)  # the same window as /report month


@dataclass(frozen=True)
class Suggestion:
    tag: str
    score: TagScore
    why: str


def missing_for_suggestions(session: Session) -> str | None:
    """What /suggest still lacks: "posts", "tags", "engagement", or None when it has something to go on."""
    if not session.scalar(select(func.count()).select_from(ChannelPost)):
        return "posts"
    if not session.scalar(select(func.count()).select_from(PostTag)):
        return "tags"
    if not (session.scalar(select(func.count()).select_from(Comment).where(Comment.post_id.is_not(None)))
            or session.scalar(select(func.count()).select_from(PostReactions))):
        return "engagement"
    return None


def suggest_topics(session: Session, settings: Settings, k: int = 3, now: datetime | None = None) -> list[Suggestion]:
    """The model's ranking, explained with the measured interactions per post (see bot.kernel.engagement)."""
    data = load_dataset(session, settings)
    if not data.tags:
        return []
    now = now or utcnow()
    model = fit_interest(data, settings, now)
    recent = post_interactions(session, now - SUGGEST_WINDOW, now)
    recent_tags = tag_interactions(session, recent)
    every_tag = tag_interactions(session, post_interactions(session))
    average = average_per_post(recent)
    out = []
    for s in model.audience(k=k):
        name = data.tags[s.tag]
        measured = recent_tags.get(name)
        if s.experiment or measured is None:
            seen = every_tag.get(name, TagInteractions(name, 0, 0))
            why = texts.SUGGEST_WHY_EARLY.format(tag=texts.esc(name), posts=seen.posts,
                                                 s="" if seen.posts == 1 else "s", per_post=seen.per_post)
        else:
            lift = measured.per_post / average if average else 1.0
            comparison = (texts.SUGGEST_ABOUT_AVERAGE if 0.95 < lift < 1.05
                          else texts.SUGGEST_LIFT.format(lift=lift))
            why = texts.SUGGEST_WHY.format(tag=texts.esc(name), per_post=measured.per_post, posts=measured.posts,
                                           days=SUGGEST_WINDOW.days, comparison=comparison, reach=s.reach * 100)
        out.append(Suggestion(name, s, why))
    return out


def post_engagement(session: Session) -> dict[int, float]:
    """Interactions per post (comments + reactions), as everywhere else."""
    return {p.post_id: float(p.total) for p in post_interactions(session)}


def ab_compare_tags(session: Session, settings: Settings, a: str, b: str) -> ABResult:
    a, b = normalize_tag(a), normalize_tag(b)
    engagement = post_engagement(session)
    arms: dict[str, list[float]] = {a: [], b: []}
    for post_id, tag in session.execute(select(PostTag.post_id, PostTag.tag).where(PostTag.tag.in_([a, b]))):
        arms[tag].append(engagement.get(post_id, 0.0))
    return compare(np.array(arms[a]), np.array(arms[b]), f"#{a}", f"#{b}")


def ab_compare_hours(session: Session, settings: Settings, a: int, b: int) -> ABResult:
    engagement = post_engagement(session)
    arms: dict[int, list[float]] = {a: [], b: []}
    for post_id, at in session.execute(select(ChannelPost.id, ChannelPost.posted_at)):
        hour = at.astimezone(settings.tz).hour
        if hour in arms:
            arms[hour].append(engagement.get(post_id, 0.0))
    return compare(np.array(arms[a]), np.array(arms[b]), f"{a:02d}:00", f"{b:02d}:00")
