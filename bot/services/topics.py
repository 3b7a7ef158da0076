"""What and when to post: stored interactions -> recsys models -> suggestions with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.store.models import ChannelPost, Comment, DirectMessage, PostReactions, PostTag, utcnow
from nlp.encoder import Encoder
from recsys.abtest import ABResult, compare
from recsys.interest import Interactions, TagInterestModel, TagScore, explain
from recsys.tags import normalize_tag
from recsys.timing import PostingTimeModel

DM_WINDOW = timedelta(hours=24)  # a DM counts as engagement with the latest post within a day before it
SOFT_TAG_MIN_SIMILARITY = 0.3


@dataclass(frozen=True)
class Dataset:
    interactions: Interactions
    relevance: sp.csr_matrix
    post_time: np.ndarray
    post_ids: list[int]
    tags: list[str]
    followers: list[int]


@dataclass(frozen=True)
class Suggestion:
    tag: str
    score: TagScore
    why: str


def soft_tag_untagged_posts(session: Session, encoder: Encoder, top: int = 2) -> int:
    """Give posts without hashtags soft tags from the creator's tag vocabulary (embedding similarity)."""
    vocab = sorted(set(session.scalars(select(PostTag.tag).where(PostTag.source == "hashtag"))))
    tagged = set(session.scalars(select(PostTag.post_id)))
    untagged = [p for p in session.scalars(select(ChannelPost)) if p.id not in tagged and p.text.strip()]
    if not vocab or not untagged:
        return 0
    tag_vecs = encoder.encode([t.replace("_", " ") for t in vocab])
    post_vecs = encoder.encode([p.text for p in untagged])
    sims = post_vecs @ tag_vecs.T
    added = 0
    for post, row in zip(untagged, sims, strict=True):
        best = [int(i) for i in np.argsort(-row)[:top] if row[i] >= SOFT_TAG_MIN_SIMILARITY]
        total = sum(float(row[i]) for i in best) or 1.0
        for i in best:
            session.add(PostTag(post_id=post.id, tag=vocab[i], weight=float(row[i]) / total, source="soft"))
            added += 1
    return added


def load_dataset(session: Session, settings: Settings) -> Dataset:
    """Interactions I(u, c) and relevance S(c, t) from the database."""
    rc = settings.recsys
    posts = list(session.execute(select(ChannelPost.id, ChannelPost.posted_at).order_by(ChannelPost.posted_at)))
    post_row = {pid: i for i, (pid, _) in enumerate(posts)}
    post_time = np.array([t.timestamp() for _, t in posts], dtype=float)
    tag_rows = list(session.execute(select(PostTag.post_id, PostTag.tag, PostTag.weight)))
    tags = sorted({t for _, t, _ in tag_rows})
    tag_index = {t: i for i, t in enumerate(tags)}
    s = sp.csr_matrix((np.array([w for _, _, w in tag_rows], dtype=float),
                       ([post_row[p] for p, _, _ in tag_rows], [tag_index[t] for _, t, _ in tag_rows])),
                      shape=(len(posts), len(tags)))
    follower_index: dict[int, int] = {}
    f, c, w, t = [], [], [], []

    def add(user: int | None, post_id: int, weight: float, at: datetime) -> None:
        f.append(-1 if user is None else follower_index.setdefault(user, len(follower_index)))
        c.append(post_row[post_id])
        w.append(weight)
        t.append(at.timestamp())

    for user, post_id, at in session.execute(
            select(Comment.user_id, Comment.post_id, Comment.created_at).where(Comment.post_id.is_not(None))):
        if post_id is not None:
            add(user, post_id, rc.weight_comment, at)
    for post_id, total, at in session.execute(select(PostReactions.post_id, PostReactions.total,
                                                     PostReactions.updated_at)):
        add(None, post_id, rc.weight_reaction * total, at)
    if posts:
        for user, at in session.execute(select(DirectMessage.user_id, DirectMessage.created_at)
                                        .where(DirectMessage.direction == "in")):
            i = int(np.searchsorted(post_time, at.timestamp(), side="right")) - 1
            if i >= 0 and at.timestamp() - post_time[i] <= DM_WINDOW.total_seconds():
                add(user, posts[i][0], rc.weight_dm, at)
    inter = Interactions(np.array(f, dtype=int), np.array(c, dtype=int), np.array(w, dtype=float),
                         np.array(t, dtype=float))
    return Dataset(inter, s, post_time, [p for p, _ in posts], tags, list(follower_index))


def fit_interest(data: Dataset, settings: Settings, now: datetime | None = None) -> TagInterestModel:
    model = TagInterestModel(half_life_days=settings.recsys.half_life_days)
    return model.fit(data.interactions, data.relevance, data.post_time, max(1, len(data.followers)),
                     now=(now or utcnow()).timestamp())


def suggest_topics(session: Session, settings: Settings, k: int = 3, now: datetime | None = None) -> list[Suggestion]:
    data = load_dataset(session, settings)
    if not data.tags:
        return []
    model = fit_interest(data, settings, now)
    return [Suggestion(data.tags[s.tag], s, explain(s, data.tags[s.tag])) for s in model.audience(k=k)]


def posting_time_model(session: Session, settings: Settings) -> PostingTimeModel:
    """Audience activity (comments, DMs, reaction updates) by hour of week in the creator's time zone."""
    rc = settings.recsys
    times, weights = [], []
    for (at,) in session.execute(select(Comment.created_at)):
        times.append(at.timestamp())
        weights.append(rc.weight_comment)
    for (at,) in session.execute(select(DirectMessage.created_at).where(DirectMessage.direction == "in")):
        times.append(at.timestamp())
        weights.append(rc.weight_dm)
    return PostingTimeModel(tz=settings.tz).fit(np.array(times), np.array(weights))


def post_engagement(session: Session, settings: Settings) -> dict[int, float]:
    """Engagement per post: weighted comments plus weighted reactions."""
    rc = settings.recsys
    out: dict[int, float] = {pid: 0.0 for pid in session.scalars(select(ChannelPost.id))}
    for (post_id,) in session.execute(select(Comment.post_id).where(Comment.post_id.is_not(None))):
        if post_id is not None:
            out[post_id] = out.get(post_id, 0.0) + rc.weight_comment
    for post_id, total in session.execute(select(PostReactions.post_id, PostReactions.total)):
        out[post_id] = out.get(post_id, 0.0) + rc.weight_reaction * total
    return out


def ab_compare_tags(session: Session, settings: Settings, a: str, b: str) -> ABResult:
    a, b = normalize_tag(a), normalize_tag(b)
    engagement = post_engagement(session, settings)
    arms: dict[str, list[float]] = {a: [], b: []}
    for post_id, tag in session.execute(select(PostTag.post_id, PostTag.tag).where(PostTag.tag.in_([a, b]))):
        arms[tag].append(engagement.get(post_id, 0.0))
    return compare(np.array(arms[a]), np.array(arms[b]), f"#{a}", f"#{b}")


def ab_compare_hours(session: Session, settings: Settings, a: int, b: int) -> ABResult:
    engagement = post_engagement(session, settings)
    arms: dict[int, list[float]] = {a: [], b: []}
    for post_id, at in session.execute(select(ChannelPost.id, ChannelPost.posted_at)):
        hour = at.astimezone(settings.tz).hour
        if hour in arms:
            arms[hour].append(engagement.get(post_id, 0.0))
    return compare(np.array(arms[a]), np.array(arms[b]), f"{a:02d}:00", f"{b:02d}:00")
