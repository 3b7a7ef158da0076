"""The audience's interest in tags (the α·S·I model of recsys.interest) read from the database: used by
/suggest, /plan and the question themes (the tags a theme's askers engage with most), and through them
by the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.store.models import ChannelPost, Comment, DirectMessage, PostReactions, PostTag, utcnow
from bot.store.scope import creator_of, fetch_numbers
from recsys.interest import Interactions, TagInterestModel

DM_WINDOW = timedelta(hours=24)  # a DM counts as engagement with the latest post within a day before it


@dataclass(frozen=True)
class Dataset:
    interactions: Interactions
    relevance: sp.csr_matrix
    post_time: np.ndarray
    post_ids: list[int]
    tags: list[str]
    followers: list[int]


def epoch(column: Any, session: Session) -> Any:
    """Unix seconds of a datetime column, computed by the database (no per-row Python parsing)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


class CommentCache:
    """Comments as (user, post, time) rows, read incrementally by id.

    The comments table is the big one (100 k rows take ~150 ms to read on SQLite); later calls read
    only rows with a higher id, and start over when rows were deleted or edited away (the count
    no longer matches).
    """

    def __init__(self) -> None:
        self._key: str | None = None
        self._rows = np.zeros((0, 4))

    def load(self, session: Session) -> np.ndarray:
        key = f"{session.get_bind().engine.url}#{creator_of(session)}"
        count = int(session.scalar(select(func.count()).select_from(Comment).where(Comment.post_id.is_not(None))) or 0)
        if key != self._key or count < len(self._rows):
            self._key, self._rows = key, np.zeros((0, 4))
        last = int(self._rows[:, 0].max()) if len(self._rows) else 0
        new = fetch_numbers(session, select(Comment.id, func.coalesce(Comment.user_id, -1), Comment.post_id,
                                       epoch(Comment.created_at, session))
                       .where(Comment.post_id.is_not(None), Comment.id > last), 4)
        self._rows = np.concatenate([self._rows, new])
        if len(self._rows) != count:  # something changed under us: read everything again
            self._rows = fetch_numbers(session, select(Comment.id, func.coalesce(Comment.user_id, -1), Comment.post_id,
                                                  epoch(Comment.created_at, session))
                                  .where(Comment.post_id.is_not(None)), 4)
        return self._rows[:, 1:]


_COMMENTS = CommentCache()


def load_dataset(session: Session, settings: Settings) -> Dataset:
    """Interactions I(u, c) and relevance S(c, t) from the database."""
    rc = settings.recsys
    posts = fetch_numbers(session, select(ChannelPost.id, epoch(ChannelPost.posted_at, session))
                     .order_by(ChannelPost.posted_at), 2)
    if not len(posts):  # nothing posted yet (the creator's own messages to the bot are no engagement)
        empty = np.zeros(0)
        return Dataset(Interactions(empty.astype(int), empty.astype(int), empty, empty), sp.csr_matrix((0, 0)),
                       empty, [], [], [])
    post_ids = posts[:, 0].astype(int)
    post_time = posts[:, 1]
    post_row = {int(pid): i for i, pid in enumerate(post_ids)}
    tag_rows = list(session.execute(select(PostTag.post_id, PostTag.tag, PostTag.weight)))
    tags = sorted({t for _, t, _ in tag_rows})
    tag_index = {t: i for i, t in enumerate(tags)}
    s = sp.csr_matrix((np.array([w for _, _, w in tag_rows], dtype=float),
                       ([post_row[p] for p, _, _ in tag_rows], [tag_index[t] for _, t, _ in tag_rows])),
                      shape=(len(post_ids), len(tags)))
    lookup = np.full(int(post_ids.max(initial=0)) + 1, -1)
    lookup[post_ids] = np.arange(len(post_ids))
    comments = _COMMENTS.load(session)
    reactions = fetch_numbers(session, select(PostReactions.post_id, PostReactions.total,
                                         epoch(PostReactions.updated_at, session)), 3)
    dms = fetch_numbers(session, select(DirectMessage.user_id, epoch(DirectMessage.created_at, session))
                   .where(DirectMessage.direction == "in"), 2)
    # a DM counts as engagement with the latest post within a day before it
    dm_post = np.searchsorted(post_time, dms[:, 1], side="right") - 1
    recent = (dm_post >= 0) & (dms[:, 1] - post_time[np.maximum(dm_post, 0)] <= DM_WINDOW.total_seconds())
    users = np.concatenate([comments[:, 0], np.full(len(reactions), -1.0), dms[recent, 0]]).astype(np.int64)
    known, follower_rows = np.unique(users[users != -1], return_inverse=True)
    rows = np.full(len(users), -1)
    rows[users != -1] = follower_rows
    inter = Interactions(
        follower=rows,
        post=np.concatenate([lookup[comments[:, 1].astype(int)], lookup[reactions[:, 0].astype(int)],
                             dm_post[recent]]).astype(int),
        intensity=np.concatenate([np.full(len(comments), rc.weight_comment), rc.weight_reaction * reactions[:, 1],
                                  np.full(int(recent.sum()), rc.weight_dm)]),
        time=np.concatenate([comments[:, 2], reactions[:, 2], dms[recent, 1]]))
    return Dataset(inter, s, post_time, [int(p) for p in post_ids], tags, [int(u) for u in known])


def fit_interest(data: Dataset, settings: Settings, now: datetime | None = None) -> TagInterestModel:
    model = TagInterestModel(half_life_days=settings.recsys.half_life_days)
    return model.fit(data.interactions, data.relevance, data.post_time, max(1, len(data.followers)),
                     now=(now or utcnow()).timestamp())
