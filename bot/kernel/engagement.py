"""Interactions per post: one definition, computed in one place.

An interaction is a comment under the post or a reaction to it, each counted once (what
`texts.INTERACTIONS_COUNT` tells the creator). The report, /suggest, /abtest and the dashboard all
read their per-post and per-tag figures from here, so the same post or tag shows the same number
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.store.models import ChannelPost, Comment, DirectMessage, PostReactions, PostTag
from recsys.timing import PostingTimeModel


@dataclass(frozen=True)
class PostInteractions:
    post_id: int
    posted_at: datetime
    text: str
    comments: int
    reactions: int

    @property
    def total(self) -> int:
        return self.comments + self.reactions


@dataclass(frozen=True)
class TagInteractions:
    tag: str
    posts: int
    interactions: int

    @property
    def per_post(self) -> float:
        return self.interactions / self.posts if self.posts else 0.0


def post_interactions(session: Session, start: datetime | None = None,
                      end: datetime | None = None) -> list[PostInteractions]:
    """Posts published in [start, end) (all when open) with their comments and reactions, oldest first."""
    stmt = select(ChannelPost.id, ChannelPost.posted_at, ChannelPost.text).order_by(ChannelPost.posted_at)
    if start is not None:
        stmt = stmt.where(ChannelPost.posted_at >= start)
    if end is not None:
        stmt = stmt.where(ChannelPost.posted_at < end)
    posts = list(session.execute(stmt))
    if not posts:
        return []
    ids = [p.id for p in posts]
    comments = {pid: n for pid, n in session.execute(
        select(Comment.post_id, func.count()).where(Comment.post_id.in_(ids)).group_by(Comment.post_id))}
    reactions = {pid: n for pid, n in session.execute(
        select(PostReactions.post_id, PostReactions.total).where(PostReactions.post_id.in_(ids)))}
    return [PostInteractions(p.id, p.posted_at, p.text, int(comments.get(p.id, 0)), int(reactions.get(p.id, 0)))
            for p in posts]


def tag_interactions(session: Session, posts: list[PostInteractions]) -> dict[str, TagInteractions]:
    """Interactions per post for each tag of `posts` (a post about two tags counts for both)."""
    by_id = {p.post_id: p for p in posts}
    if not by_id:
        return {}
    sums: dict[str, list[int]] = {}
    for post_id, tag in session.execute(select(PostTag.post_id, PostTag.tag).where(PostTag.post_id.in_(list(by_id)))):
        sums.setdefault(tag, []).append(by_id[post_id].total)
    return {tag: TagInteractions(tag, len(v), sum(v)) for tag, v in sums.items()}


def average_per_post(posts: list[PostInteractions]) -> float:
    return sum(p.total for p in posts) / len(posts) if posts else 0.0


def posting_time_model(session: Session, settings: Settings) -> PostingTimeModel:
    """Audience activity (comments, DMs, reaction updates) by hour of week in the creator's time zone."""
    rc = settings.recsys
    times, weights = [], []
    for (at,) in session.execute(select(Comment.created_at)):
        times.append(at.timestamp())
        weights.append(rc.weight_comment)
    for (at,) in session.execute(select(DirectMessage.created_at).where(  # the creator's own commands are no audience
            DirectMessage.direction == "in", DirectMessage.user_id.not_in(settings.creator.user_ids))):
        times.append(at.timestamp())
        weights.append(rc.weight_dm)
    return PostingTimeModel(tz=settings.tz).fit(np.array(times), np.array(weights))
