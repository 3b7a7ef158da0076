"""Comment and DM sentiment: batch classification off the event loop, surge alerts, corrections."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.channel import surge as surge_explained
from bot.channel.surge import Explained
from bot.config import Settings
from bot.kernel import buttons as buttons_data
from bot.kernel.outbox import ALERT_PURPOSE, send_text
from bot.kernel.services import Services
from bot.store.models import (
    ChannelPost,
    Comment,
    DirectMessage,
    SentimentAlert,
    SentimentCorrection,
    utcnow,
)
from nlp.model_factory import ModelFactory

log = logging.getLogger(__name__)
BATCH = 64
LABELS = ("negative", "neutral", "positive")
BASELINE_DAYS = 7
BASELINE_PRIOR = (3.0, 17.0)  # Beta prior on the negative share: 15 % over 20 pseudo-comments


class SentimentPrediction(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def negative(self) -> float: ...
    @property
    def neutral(self) -> float: ...
    @property
    def positive(self) -> float: ...


class Classifier(Protocol):
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> Sequence[SentimentPrediction]: ...


ClassifierFactory = Callable[[], Classifier]


def classifier_loader(models: ModelFactory) -> ClassifierFactory:
    """The routed classifier of the process's model factory (English LoRA model, multilingual one on first need)."""
    return models.sentiment


_DM_WAITING = (DirectMessage.sentiment.is_(None), DirectMessage.direction == "in", DirectMessage.text.is_not(None))


def dms_due(session: Session, settings: Settings, now: datetime | None = None) -> bool:
    """Is it time to classify the waiting direct messages? Nothing reads their sentiment while the bot is busy
    (the export does), so they wait for a quiet spell (`[sentiment] dm_quiet_seconds` without a new one) and
    then go in full batches; under steady traffic they wait `dm_max_wait_minutes` at most. The comments'
    sentiment, which the surge alert needs, never waits."""
    cfg, now = settings.sentiment, now or utcnow()
    oldest, newest = session.execute(select(func.min(DirectMessage.created_at), func.max(DirectMessage.created_at))
                                     .where(*_DM_WAITING)).one()
    if oldest is None:
        return False
    return (now - newest >= timedelta(seconds=cfg.dm_quiet_seconds)
            or now - oldest >= timedelta(minutes=cfg.dm_max_wait_minutes))


def _unclassified(session: Session, settings: Settings) -> tuple[list[Comment], list[DirectMessage]]:
    comments = list(session.scalars(select(Comment).where(Comment.sentiment.is_(None), Comment.text.is_not(None))
                                    .order_by(Comment.id).limit(BATCH)))
    dms = list(session.scalars(select(DirectMessage).where(*_DM_WAITING).order_by(DirectMessage.id).limit(BATCH))) \
        if len(comments) < BATCH and dms_due(session, settings) else []
    return comments, dms


@dataclass(frozen=True)
class Surge:
    post_id: int | None
    negative: int
    total: int
    share: float
    baseline: float
    examples: list[tuple[int, str]]
    quoted: set[int] = field(default_factory=set)  # the examples' authors


def baseline_share(session: Session, before: object, days: int = BASELINE_DAYS) -> float:
    """The channel's own negative share over the days before the window (Beta-smoothed)."""
    start = before - timedelta(days=days)  # type: ignore[operator]
    rows = session.execute(select(Comment.sentiment, func.count()).where(
        Comment.created_at >= start, Comment.created_at < before, Comment.sentiment.in_(LABELS))
        .group_by(Comment.sentiment)).all()
    counts = {label: n for label, n in rows}
    neg, total = counts.get("negative", 0), sum(counts.values())
    a, b = BASELINE_PRIOR
    return (neg + a) / (total + a + b)


def detect_surge(session: Session, settings: Settings) -> Surge | None:
    """A negative surge in the rolling window, unless one was reported within the cool-down."""
    cfg = settings.sentiment
    now = utcnow()
    last = session.scalar(select(func.max(SentimentAlert.created_at)))
    if last is not None and now - last < timedelta(minutes=cfg.cooldown_minutes):
        return None
    window_start = now - timedelta(minutes=cfg.window_minutes)
    rows = list(session.execute(select(Comment.id, Comment.post_id, Comment.sentiment, Comment.text,
                                       Comment.user_id).where(
        Comment.created_at >= window_start, Comment.sentiment.in_(LABELS))))
    total = len(rows)
    negatives = [r for r in rows if r.sentiment == "negative"]
    if total < cfg.min_comments or not negatives:
        return None
    share = len(negatives) / total
    baseline = baseline_share(session, window_start)
    if share < cfg.min_negative_share or share < cfg.surge_ratio * baseline:
        return None
    by_post: dict[int | None, int] = {}
    for r in negatives:
        by_post[r.post_id] = by_post.get(r.post_id, 0) + 1
    post_id = max(by_post, key=lambda p: by_post[p])
    shown = [r for r in negatives if r.post_id == post_id][:3]
    return Surge(post_id, len(negatives), total, share, baseline, [(r.id, r.text or "") for r in shown],
                 {r.user_id for r in shown if r.user_id is not None})


def alert(session: Session, settings: Settings, surge: Surge, explained: Explained | None = None) -> None:
    """One alert to the creator with counts, the post and escaped examples with relabel buttons; with
    `explained`, also what the comments are about, who wrote them, and a drafted reply (bot/channel/surge.py)."""
    row = SentimentAlert(post_id=surge.post_id, negative=surge.negative, total=surge.total, baseline=surge.baseline)
    session.add(row)
    session.flush()
    chat = settings.creator_chat_id
    if chat is None:
        return
    post = session.get(ChannelPost, surge.post_id) if surge.post_id is not None else None
    lines = [texts.SURGE_ALERT.format(
        negative=surge.negative, total=surge.total, minutes=settings.sentiment.window_minutes,
        share=surge.share * 100, baseline=surge.baseline * 100,
        post=texts.esc(texts.clip(post.text, 120)) if post else texts.SURGE_NO_POST)]
    buttons: list[list[tuple[str, str]]] = []
    for i, (comment_id, text) in enumerate(surge.examples, 1):
        lines.append(f"{i}. “{texts.esc(texts.clip(text, 200))}”")
        buttons.append([(f"{i}: {label}", buttons_data.make(buttons_data.RELABEL, comment_id, label[:3]))
                        for label in ("neutral", "positive")])
    quoted = set(surge.quoted)
    if explained is not None:
        lines += surge_explained.alert_lines(explained)
        quoted |= surge_explained.quoted(explained)
    send_text(session, chat, "\n".join(lines), buttons=buttons, purpose=ALERT_PURPOSE, about=quoted)
    if explained is not None:
        surge_explained.offer_draft(session, settings, row, explained)


def relabel(session: Session, comment_id: int, label: str) -> bool:
    """The creator corrects a comment's label; stored for training with --include-corrections."""
    full = {"neg": "negative", "neu": "neutral", "pos": "positive"}.get(label[:3])
    comment = session.get(Comment, comment_id)
    if full is None or comment is None:
        return False
    session.add(SentimentCorrection(comment_id=comment.id, old_label=comment.sentiment, new_label=full,
                                    text=comment.text))
    comment.sentiment = full
    comment.sentiment_source = "creator"
    return True


def predict_each(classifier: Classifier, batch: list[str]) -> list[SentimentPrediction | None]:
    """Predictions for a batch; if the model fails on it, item by item, None for the ones it fails on
    (one bad text must not block every comment behind it)."""
    try:
        return list(classifier.predict(batch))
    except Exception:
        log.exception("sentiment batch of %d failed; classifying one by one", len(batch))
    out: list[SentimentPrediction | None] = []
    for text in batch:
        try:
            out.append(next(iter(classifier.predict([text]))))
        except Exception:
            out.append(None)
    return out


class SentimentWorker:
    """Classifies new comments and DMs in batches, then looks for a surge; the runtime loads the
    classifier in the background and calls `step` (bot/runtime/worker.py)."""

    def __init__(self, services: Services, factory: ClassifierFactory, models: ModelFactory | None = None) -> None:
        self.services = services
        self.factory = factory
        self.classifier: Classifier | None = None
        self.models = models  # the encoders that explain a surge (None: a plain alert)

    async def step(self) -> bool:
        """Classify one batch of each kind; returns True if there may be more."""
        if self.classifier is None:
            return False
        services = self.services
        with services.sessions() as session:
            comments, dms = _unclassified(session, services.settings)
            c_texts = [c.text or "" for c in comments]
            d_texts = [d.text or "" for d in dms]
        if not comments and not dms:
            return False
        classifier = self.classifier
        preds = await asyncio.to_thread(predict_each, classifier, c_texts + d_texts)
        async with services.unit() as session:
            rows: list[Comment | DirectMessage] = [*comments, *dms]
            for row, pred in zip(rows, preds, strict=True):
                target = (session.get(Comment, row.id) if isinstance(row, Comment)
                          else session.get(DirectMessage, row.id))
                if target is None:  # deleted meanwhile (/forgetme)
                    continue
                if pred is None:  # the model failed on this one: skipped for good, never retried in a loop
                    log.error("sentiment model failed on %s %s; marked unknown", type(row).__name__, row.id)
                    target.sentiment = "unknown"
                    continue
                target.sentiment = pred.label
                target.p_negative, target.p_neutral, target.p_positive = pred.negative, pred.neutral, pred.positive
                if isinstance(target, Comment):
                    target.sentiment_source = "model"
        if comments:
            await self.look_for_surge()
        return len(comments) == BATCH or len(dms) == BATCH

    async def look_for_surge(self) -> None:
        """Read, then explain the surge off the event loop and outside any transaction, then alert (the
        scheduler's loop is the only one that alerts, so the cool-down read first still holds)."""
        services = self.services

        def read() -> tuple[Surge | None, surge_explained.SurgeInput | None]:
            with services.sessions() as session:
                found = detect_surge(session, services.settings)
                return found, (surge_explained.read_surge(session, services.settings) if found else None)

        surge, inp = await asyncio.to_thread(read)
        if surge is None:
            return
        explained = None
        if inp is not None and inp.negative and self.models is not None:
            models = self.models
            try:
                explained = await asyncio.to_thread(surge_explained.explain, inp, models.encoder(),
                                                    models.multilingual_encoder)
            except Exception:
                log.exception("the surge could not be explained; a plain alert goes out")
        async with services.unit() as session:
            alert(session, services.settings, surge, explained)


@dataclass(frozen=True)
class Mix:
    counts: dict[str, int]
    worst_posts: list[tuple[str, int, int]]  # (post text, negative, total)


def recent_mix(session: Session, days: int = 7) -> Mix:
    since = utcnow() - timedelta(days=days)
    counts = {str(label): int(n) for label, n in session.execute(select(Comment.sentiment, func.count()).where(
        Comment.created_at >= since, Comment.sentiment.is_not(None)).group_by(Comment.sentiment))}
    neg = func.sum(case((Comment.sentiment == "negative", 1), else_=0))
    rows = session.execute(select(ChannelPost.text, neg, func.count()).join(Comment, Comment.post_id == ChannelPost.id)
                           .where(Comment.created_at >= since, Comment.sentiment.is_not(None))
                           .group_by(ChannelPost.id, ChannelPost.text).order_by(neg.desc()).limit(3)).all()
    return Mix(counts, [(t, int(n or 0), int(total)) for t, n, total in rows if n])
