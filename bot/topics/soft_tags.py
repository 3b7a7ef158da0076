"""Soft tags: posts without hashtags get the closest tags of the creator's own vocabulary.

The encoder call runs in a thread with no transaction open: read what needs tags, embed, then
store the tags in a short transaction (posts tagged meanwhile are left alone).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.services import Services
from bot.store.models import ChannelPost, PostTag
from nlp.encoder import Encoder

SOFT_TAG_MIN_SIMILARITY = 0.3
TOP = 2  # soft tags per post at most


@dataclass(frozen=True)
class Untagged:
    vocab: list[str]  # the tags the creator has used as hashtags
    posts: list[tuple[int, str]]  # (post id, text) of posts with text and no tag at all


@dataclass(frozen=True)
class SoftTag:
    post_id: int
    tag: str
    weight: float  # a post's soft tags add up to 1


def untagged_posts(session: Session) -> Untagged:
    vocab = sorted(set(session.scalars(select(PostTag.tag).where(PostTag.source == "hashtag"))))
    tagged = set(session.scalars(select(PostTag.post_id)))
    posts = [(p.id, p.text) for p in session.scalars(select(ChannelPost)) if p.id not in tagged and p.text.strip()]
    return Untagged(vocab, posts)


def soft_tags(encoder: Encoder, work: Untagged, top: int = TOP) -> list[SoftTag]:
    """Up to `top` tags per post whose embedding similarity to the post is at least
    SOFT_TAG_MIN_SIMILARITY, weighted by similarity (blocking: a model call)."""
    if not work.vocab or not work.posts:
        return []
    tag_vecs = encoder.encode([t.replace("_", " ") for t in work.vocab])
    post_vecs = encoder.encode([text for _, text in work.posts])
    sims = post_vecs @ tag_vecs.T
    out = []
    for (post_id, _), row in zip(work.posts, sims, strict=True):
        best = [int(i) for i in np.argsort(-row)[:top] if row[i] >= SOFT_TAG_MIN_SIMILARITY]
        total = sum(float(row[i]) for i in best) or 1.0
        out += [SoftTag(post_id, work.vocab[i], float(row[i]) / total) for i in best]
    return out


def store_soft_tags(session: Session, tags: list[SoftTag]) -> int:
    """Store the tags of posts that are still untagged; returns how many were stored."""
    if not tags:
        return 0
    tagged = set(session.scalars(select(PostTag.post_id).where(PostTag.post_id.in_({t.post_id for t in tags}))))
    fresh = [t for t in tags if t.post_id not in tagged]
    session.add_all(PostTag(post_id=t.post_id, tag=t.tag, weight=t.weight, source="soft") for t in fresh)
    return len(fresh)


async def tag_untagged_posts(services: Services) -> int:
    """Soft-tag the posts that have no tag yet, with the live FAQ model's encoder (none yet: later)."""
    model = services.faq_model
    encoder = model.live_encoder() if model is not None else None
    if encoder is None:
        return 0

    def read() -> Untagged:
        with services.sessions() as session:
            return untagged_posts(session)

    work = await asyncio.to_thread(read)
    tags = await asyncio.to_thread(soft_tags, encoder, work)
    if not tags:
        return 0
    async with services.unit() as session:
        return store_soft_tags(session, tags)
