"""Engagement KPIs for a period against the previous one, and the report text.

A metric that cannot be computed carries the reason and the fix instead of a value: a missing
number is never shown as zero.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.engagement import (
    average_per_post,
    post_interactions,
    posting_time_model,
    tag_interactions,
)
from bot.kernel.messages import INBOXES
from bot.store.models import (
    Comment,
    DirectMessage,
    FaqAnswer,
    FollowerCountSnapshot,
    Handoff,
    MembershipEvent,
    PostReactions,
)
from recsys.timing import PostingTimeModel, slot_name

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
VIEWS_NOTE = "Post views are not available to bots, so this report cannot show them."


@dataclass(frozen=True)
class Metric:
    value: float | None
    previous: float | None = None
    missing: str | None = None  # why there is no value, and the fix

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def missing(reason: str) -> Metric:
    return Metric(None, None, reason)


@dataclass
class Report:
    period: str
    start: datetime
    end: datetime
    metrics: dict[str, Metric] = field(default_factory=dict)
    sentiment: dict[str, int] = field(default_factory=dict)
    sentiment_previous: dict[str, int] = field(default_factory=dict)
    top_posts: list[dict[str, Any]] = field(default_factory=list)
    top_tags: list[dict[str, Any]] = field(default_factory=list)
    best_hour: str | None = None  # the busiest hour of this period
    best_slot: str | None = None  # the best hour of the week to post, as /besttime says (all activity)
    followers_series: list[tuple[datetime, int]] = field(default_factory=list)
    engagement_per_post: list[tuple[datetime, str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    questions_by_inbox: dict[str, int] = field(default_factory=dict)  # bot | channel_dm | business

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "metrics": {k: {**asdict(m), "change": m.change} for k, m in self.metrics.items()},
            "sentiment": self.sentiment, "sentiment_previous": self.sentiment_previous,
            "top_posts": self.top_posts, "top_tags": self.top_tags, "best_hour": self.best_hour,
            "best_slot": self.best_slot,
            "followers_series": [(t.isoformat(), n) for t, n in self.followers_series],
            "notes": self.notes, "questions_by_inbox": self.questions_by_inbox,
        }


def _questions_by_inbox(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Follower questions (automatic answers, handoffs and drafts) per inbox they came from."""
    counts = dict.fromkeys(INBOXES, 0)
    for model in (FaqAnswer, Handoff):
        for inbox, n in session.execute(select(model.inbox, func.count()).where(
                model.created_at >= start, model.created_at < end).group_by(model.inbox)).all():
            counts[str(inbox)] = counts.get(str(inbox), 0) + int(n)
    return counts


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(stmt) or 0)


def _followers_at(session: Session, when: datetime) -> int | None:
    return session.scalar(select(FollowerCountSnapshot.count).where(FollowerCountSnapshot.taken_at <= when)
                          .order_by(FollowerCountSnapshot.taken_at.desc()).limit(1))


def _window(session: Session, settings: Settings, start: datetime, end: datetime) -> dict[str, Metric]:
    """The raw per-period numbers (value only); `build_report` pairs two windows."""
    out: dict[str, Metric] = {}
    followers = _followers_at(session, end)
    any_snapshot = session.scalar(select(func.count()).select_from(FollowerCountSnapshot))
    out["followers"] = (Metric(float(followers)) if followers is not None else missing(
        "no follower count yet — the bot reads it daily once it is an admin of the channel"
        if not any_snapshot else "no follower count before this period"))
    joins = _count(session, select(func.count()).select_from(MembershipEvent).where(
        MembershipEvent.event == "join", MembershipEvent.at >= start, MembershipEvent.at < end))
    leaves = _count(session, select(func.count()).select_from(MembershipEvent).where(
        MembershipEvent.event == "leave", MembershipEvent.at >= start, MembershipEvent.at < end))
    any_events = session.scalar(select(func.count()).select_from(MembershipEvent))
    start_followers = _followers_at(session, start)
    if any_events:
        out["joins"], out["leaves"], out["net_growth"] = Metric(joins), Metric(leaves), Metric(joins - leaves)
    else:
        reason = ("no joins or leaves received — the bot must be an admin of the channel to get "
                  "chat_member updates")
        out["joins"] = out["leaves"] = missing(reason)
        out["net_growth"] = (Metric(float(followers - start_followers))
                             if followers is not None and start_followers is not None else missing(reason))
    posts = post_interactions(session, start, end)
    out["posts"] = Metric(len(posts))
    comments = sum(p.comments for p in posts)
    reactions = sum(p.reactions for p in posts)
    any_reactions = session.scalar(select(func.count()).select_from(PostReactions))
    no_posts = "no posts in this period"
    out["comments_per_post"] = Metric(comments / len(posts)) if posts else missing(no_posts)
    if not any_reactions:
        out["reactions_per_post"] = missing("reactions: none received — the bot must be an admin of the "
                                            "channel with the right to see reactions")
    else:
        out["reactions_per_post"] = Metric(reactions / len(posts)) if posts else missing(no_posts)
    if not posts:
        out["engagement_rate"] = missing(no_posts)
    elif followers is None:
        out["engagement_rate"] = missing("needs the follower count (see followers)")
    else:
        out["engagement_rate"] = Metric(average_per_post(posts) / max(followers, 1) * 100)

    answered = _count(session, select(func.count()).select_from(FaqAnswer).where(
        FaqAnswer.created_at >= start, FaqAnswer.created_at < end))
    handoffs = list(session.scalars(select(Handoff).where(Handoff.created_at >= start, Handoff.created_at < end)))
    questions = answered + len(handoffs)
    out["questions"] = Metric(questions)
    if questions:
        out["answered_automatically"] = Metric(answered / questions * 100)
        out["handed_off"] = Metric(len(handoffs) / questions * 100)
    else:
        out["answered_automatically"] = out["handed_off"] = missing("no follower questions in this period")
    waits = [(h.answered_at - h.created_at).total_seconds() / 60 for h in handoffs if h.answered_at]
    out["creator_median_response_minutes"] = (Metric(statistics.median(waits)) if waits else
                                              missing("no handed-off question was answered in this period"))
    votes = list(session.scalars(select(FaqAnswer.feedback).where(
        FaqAnswer.created_at >= start, FaqAnswer.created_at < end, FaqAnswer.feedback.is_not(None))))
    out["thumbs_up_rate"] = (Metric(sum(v == "up" for v in votes) / len(votes) * 100) if votes else
                             missing("no 👍/👎 votes in this period"))
    return out


def _sentiment(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    return {str(label): int(n) for label, n in session.execute(
        select(Comment.sentiment, func.count()).where(Comment.created_at >= start, Comment.created_at < end,
                                                      Comment.sentiment.is_not(None)).group_by(Comment.sentiment))}


def build_report(session: Session, settings: Settings, period: str, end: datetime) -> Report:
    """KPIs for [end - period, end) against the period before."""
    length = PERIODS[period]
    start = end - length
    report = Report(period, start, end)
    now, before = _window(session, settings, start, end), _window(session, settings, start - length, start)
    report.metrics = {k: Metric(m.value, before[k].value, m.missing) for k, m in now.items()}
    report.questions_by_inbox = _questions_by_inbox(session, start, end)
    report.sentiment = _sentiment(session, start, end)
    report.sentiment_previous = _sentiment(session, start - length, start)
    if not report.sentiment:
        any_labels = session.scalar(select(func.count()).select_from(Comment).where(Comment.sentiment.is_not(None)))
        report.notes.append("sentiment: no classified comments in this period" + (
            "" if any_labels else " — the bot must be an admin of the discussion group to see comments"))

    posts = post_interactions(session, start, end)
    report.engagement_per_post = [(p.posted_at, texts.clip(p.text.replace("\n", " "), 40), float(p.total))
                                  for p in posts]
    report.top_posts = [{"text": texts.clip(p.text, 80), "engagement": p.total, "posted_at": p.posted_at.isoformat()}
                        for p in sorted(posts, key=lambda p: -p.total)[:3]]
    by_tag = sorted(tag_interactions(session, posts).values(), key=lambda t: -t.per_post)
    report.top_tags = [{"tag": t.tag, "per_post": t.per_post, "posts": t.posts} for t in by_tag[:3]]

    times = [c.timestamp() for c in session.scalars(select(Comment.created_at).where(
        Comment.created_at >= start, Comment.created_at < end))]
    times += [d.timestamp() for d in session.scalars(select(DirectMessage.created_at).where(
        DirectMessage.created_at >= start, DirectMessage.created_at < end, DirectMessage.direction == "in"))]
    if times:
        import numpy as np

        model = PostingTimeModel(tz=settings.tz, prior_strength=0.0).fit(np.array(times))
        report.best_hour = slot_name(model.best_hours(1)[0][0])
        report.best_slot = slot_name(posting_time_model(session, settings).best_hours(1)[0][0])
    report.followers_series = [(t, n) for t, n in session.execute(
        select(FollowerCountSnapshot.taken_at, FollowerCountSnapshot.count)
        .where(FollowerCountSnapshot.taken_at >= start - length, FollowerCountSnapshot.taken_at < end)
        .order_by(FollowerCountSnapshot.taken_at))]
    report.notes.append(VIEWS_NOTE)
    return report


LABELS = {
    "followers": ("Followers", "{:.0f}"), "joins": ("Joined", "{:.0f}"), "leaves": ("Left", "{:.0f}"),
    "net_growth": ("Net growth", "{:+.0f}"), "posts": ("Posts", "{:.0f}"),
    "comments_per_post": ("Comments per post", "{:.1f}"), "reactions_per_post": ("Reactions per post", "{:.1f}"),
    "engagement_rate": ("Engagement rate (per post per 100 followers)", "{:.1f}"),
    "questions": ("Follower questions", "{:.0f}"), "answered_automatically": ("Answered automatically", "{:.0f} %"),
    "handed_off": ("Handed off to you", "{:.0f} %"),
    "creator_median_response_minutes": ("Your median response time", "{:.0f} min"),
    "thumbs_up_rate": ("👍 share of votes", "{:.0f} %"),
}


def render_text(report: Report, tz: Any) -> str:
    """The report as Telegram HTML (for the caption and /report)."""
    start, end = report.start.astimezone(tz), (report.end - timedelta(seconds=1)).astimezone(tz)
    lines = [f"<b>📊 {report.period.capitalize()} report</b> {start:%d %b} – {end:%d %b %Y}"]
    for key, (label, fmt) in LABELS.items():
        m = report.metrics[key]
        if m.value is None:
            lines.append(f"{label}: — <i>{texts.esc(m.missing or '')}</i>")
            continue
        change = f" ({fmt.format(m.change).replace(' %', '')} vs previous)" if m.change is not None else ""
        if key in ("followers", "joins", "leaves", "posts", "questions", "net_growth") and m.change is not None:
            change = f" ({m.change:+.0f})"
        lines.append(f"{label}: <b>{fmt.format(m.value)}</b>{change}")
    if sum(report.questions_by_inbox.values()):
        lines.append(texts.REPORT_BY_INBOX.format(inboxes=" · ".join(
            f"{texts.INBOX_LABELS.get(k, k)} {n}" for k, n in report.questions_by_inbox.items())))
    if report.sentiment:
        total = sum(report.sentiment.values())
        mix = ", ".join(f"{k} {v / total * 100:.0f} %" for k, v in sorted(report.sentiment.items()))
        lines.append(f"Comment mood: {mix}")
    if report.top_posts:
        lines.append("Top posts: " + "; ".join(f"“{texts.esc(p['text'])}” ({p['engagement']:.0f})"
                                               for p in report.top_posts))
    if report.top_tags:
        lines.append(texts.REPORT_TOP_TAGS.format(tags=", ".join(
            f"#{texts.esc(t['tag'])} {t['per_post']:.1f}" for t in report.top_tags)))
    if report.best_hour:
        lines.append(texts.REPORT_BUSIEST.format(period=report.period, hour=report.best_hour))
    if report.best_slot:
        lines.append(texts.REPORT_BEST_SLOT.format(slot=report.best_slot))
    lines += [f"<i>{texts.esc(n)}</i>" for n in report.notes]
    return "\n".join(lines)
