"""What each dashboard page shows, read from the same service functions as the bot's messages.

Each `*_page` function takes a read-only session and returns the template context; charts are
inline SVG strings. Nothing here formats for Telegram: templates escape every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.faq.model import FaqModel
from bot.inbox import queue
from bot.kernel import asks
from bot.kernel.engagement import post_interactions, posting_time_model, tag_interactions
from bot.kernel.inboxes import INBOXES, inbox_label, inbox_mode
from bot.reports.report import LABELS, PERIODS, Metric, build_report
from bot.store.models import (
    ChannelPost,
    Comment,
    FaqAnswer,
    FaqEntryRow,
    FaqExample,
    Handoff,
    SentimentAlert,
)
from bot.topics import plan as planning
from bot.topics import reminding
from bot.topics import suggestions as topics
from bot.topics import themes as grouping
from bot.web import charts
from nlp.model_factory import ModelFactory
from recsys.timing import DAY_NAMES, HOURS

PAGES = ("overview", "inbox", "sentiment", "topics", "besttime", "faq", "reminders", "asks", "plan")
TITLES = {"overview": "Overview", "inbox": "Inbox", "sentiment": "Sentiment", "topics": "Topics",
          "besttime": "Best time", "faq": "FAQ", "reminders": "Reminders", "asks": "Asks", "plan": "Plan"}
OVERVIEW_KPIS = ("followers", "engagement_rate", "comments_per_post", "reactions_per_post", "answered_automatically",
                 "handed_off", "creator_median_response_minutes", "net_growth", "posts")
LOW_CONFIDENCE = 0.6  # automatic answers below this are offered as examples to confirm


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    change: str
    missing: str
    trend: str  # up | down | flat | ""


def _kpi(key: str, m: Metric) -> Kpi:
    label, fmt = LABELS[key]
    if m.value is None:
        return Kpi(label, "—", "", m.missing or "", "")
    change = m.change
    trend = "" if change is None else "up" if change > 0 else "down" if change < 0 else "flat"
    shown = "" if change is None else (fmt.replace("{:", "{:+") if "+" not in fmt else fmt).format(change)
    return Kpi(label, fmt.format(m.value), shown, "", trend)


def overview_page(session: Session, settings: Settings, now: datetime, period: str = "week") -> dict[str, Any]:
    period = period if period in PERIODS else "week"
    report = build_report(session, settings, period, now)
    tz = settings.tz
    posts = post_interactions(session, report.start, report.end)
    labels = [f"{p.posted_at.astimezone(tz):%d %b %H:%M}" for p in posts]
    per_post = charts.stacked_bars(labels, {"comments": [p.comments for p in posts],
                                            "reactions": [p.reactions for p in posts]},
                                   f"Interactions per post ({texts.INTERACTIONS_COUNT})", "interactions")
    followers = charts.line_chart({"followers": [(t, float(n)) for t, n in report.followers_series]}, tz,
                                  "Followers (this and the previous period)", "followers", marker_at=report.start)
    now_q, before_q = report.metrics["questions"], report.metrics
    answered = [_share(before_q["answered_automatically"].previous, before_q["questions"].previous),
                _share(before_q["answered_automatically"].value, now_q.value)]
    handed = [(before_q["questions"].previous or 0) - answered[0], (now_q.value or 0) - answered[1]]
    questions = charts.stacked_bars(["previous " + period, "this " + period],
                                    {"answered automatically": answered, "handed off to you": handed},
                                    "Follower questions", "questions")
    return {"period": period, "periods": list(PERIODS), "start": report.start.astimezone(tz),
            "end": (report.end - timedelta(seconds=1)).astimezone(tz),
            "kpis": [_kpi(k, report.metrics[k]) for k in OVERVIEW_KPIS],
            "charts": [followers, per_post, questions], "top_posts": report.top_posts, "notes": report.notes}


def _share(percent: float | None, total: float | None) -> float:
    return round((percent or 0) / 100 * (total or 0))


def sentiment_page(session: Session, settings: Settings, now: datetime, days: int = 30) -> dict[str, Any]:
    tz = settings.tz
    since = now - timedelta(days=days)
    rows = session.execute(select(Comment.created_at, Comment.sentiment).where(
        Comment.created_at >= since, Comment.sentiment.is_not(None)))
    day_keys = [(since + timedelta(days=i + 1)).astimezone(tz).date() for i in range(days)]
    index = {d: i for i, d in enumerate(day_keys)}
    counts = {label: [0.0] * days for label in ("positive", "neutral", "negative", "unknown")}
    for at, label in rows:
        i = index.get(at.astimezone(tz).date())
        if i is not None and label in counts:
            counts[label][i] += 1
    chart = charts.sentiment_bars([f"{d:%d %b}" for d in day_keys], counts)
    alerts = []
    for a in session.scalars(select(SentimentAlert).order_by(SentimentAlert.created_at.desc()).limit(3)):
        post = session.get(ChannelPost, a.post_id) if a.post_id else None
        behind = list(session.scalars(select(Comment).where(
            Comment.post_id == a.post_id, Comment.sentiment == "negative").order_by(Comment.created_at).limit(12)))
        alerts.append({"at": a.created_at.astimezone(tz), "negative": a.negative, "total": a.total,
                       "baseline": a.baseline * 100, "post": post.text if post else texts.SURGE_NO_POST,
                       "comments": behind})
    recent = list(session.scalars(select(Comment).where(Comment.created_at >= now - timedelta(days=7),
                                                        Comment.text.is_not(None))
                                  .order_by(Comment.created_at.desc()).limit(30)))
    return {"charts": [chart], "alerts": alerts, "recent": recent, "tz": tz}


def topics_page(session: Session, settings: Settings, now: datetime, a: str = "", b: str = "") -> dict[str, Any]:
    tz = settings.tz
    suggestions = topics.suggest_topics(session, settings, now=now)
    weeks = 8
    start = now - timedelta(weeks=weeks)
    ranked = sorted(tag_interactions(session, post_interactions(session, start, now)).values(),
                    key=lambda t: -t.per_post)
    series: dict[str, list[tuple[datetime, float]]] = {f"#{t.tag}": [] for t in ranked[:5]}
    for w in range(weeks):
        lo, hi = start + timedelta(weeks=w), start + timedelta(weeks=w + 1)
        week = tag_interactions(session, post_interactions(session, lo, hi))
        for t in ranked[:5]:
            if t.tag in week:
                series[f"#{t.tag}"].append((hi, week[t.tag].per_post))
    chart = charts.line_chart(series, tz, f"Interactions per post by tag, per week ({texts.INTERACTIONS_COUNT})",
                              "per post")
    tags = [t.tag for t in ranked]
    a = a or (tags[0] if tags else "")
    b = b or (tags[-1] if len(tags) > 1 else "")
    ab = topics.ab_compare_tags(session, settings, a, b) if a and b and a != b else None
    return {"suggestions": suggestions, "ranked": ranked, "charts": [chart], "tags": tags, "a": a, "b": b, "ab": ab}


def besttime_page(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    model = posting_time_model(session, settings)
    slots = model.best_slots(now, k=3)
    grid = (model.scores * 100).reshape(7, 24)
    chart = charts.heatmap(grid, DAY_NAMES, f"Audience activity by hour ({settings.schedule.timezone})",
                           highlight=[(s.weekday(), s.hour) for s, _ in slots])
    best = int(np.argmax(model.scores)) if model.total else None
    return {"charts": [chart], "slots": [(f"{DAY_NAMES[s.weekday()]} {s:%d %b %H:%M}", share * 100)
                                         for s, share in slots],
            "total": int(model.total), "thin": model.total < 200, "tz": settings.schedule.timezone,
            "best": f"{DAY_NAMES[best // 24]} {best % 24:02d}:00" if best is not None and best < HOURS else None}


def faq_page(session: Session, settings: Settings, now: datetime, model: FaqModel | None) -> dict[str, Any]:
    tz = settings.tz
    entries = list(session.scalars(select(FaqEntryRow).where(FaqEntryRow.active.is_(True)).order_by(FaqEntryRow.id)))
    examples: dict[str, list[FaqExample]] = {}
    for ex in session.scalars(select(FaqExample).order_by(FaqExample.id)):
        examples.setdefault(ex.entry_id, []).append(ex)
    handoffs = list(session.scalars(select(Handoff).where(Handoff.status == "open").order_by(Handoff.created_at.desc())))
    low = list(session.scalars(select(FaqAnswer).where(FaqAnswer.confidence < LOW_CONFIDENCE)
                               .order_by(FaqAnswer.created_at.desc()).limit(20)))
    since = now - timedelta(days=14)
    day_keys = [(since + timedelta(days=i + 1)).astimezone(tz).date() for i in range(14)]
    answered = _per_day(session, FaqAnswer.created_at, since, day_keys, tz)
    handed = _per_day(session, Handoff.created_at, since, day_keys, tz)
    chart = charts.stacked_bars([f"{d:%d %b}" for d in day_keys],
                                {"answered automatically": answered, "handed off": handed},
                                "Follower questions per day", "questions")
    return {"entries": entries, "examples": examples, "handoffs": handoffs, "low": low, "charts": [chart],
            "versions": model_versions(model), "training": bool(model and model.training_busy()), "tz": tz}


def _per_day(session: Session, column: Any, since: datetime, days: list[Any], tz: Any) -> list[float]:
    out = [0.0] * len(days)
    index = {d: i for i, d in enumerate(days)}
    for (at,) in session.execute(select(column).where(column >= since)):
        i = index.get(at.astimezone(tz).date())
        if i is not None:
            out[i] += 1
    return out


def model_versions(model: FaqModel | None) -> list[dict[str, Any]]:
    """Every trained FAQ version with its threshold and held-out coverage, newest first."""
    if model is None:
        return []
    from nlp import versions
    from nlp.faq import FaqMatcher

    out = []
    for name in reversed(versions.versions(model.root)):
        try:
            meta = FaqMatcher.read_meta(model.root / name)
        except (OSError, ValueError):
            continue
        cal = meta.get("calibration", {})
        out.append({"name": name, "live": name == model.version, "entries": len(meta.get("entry_ids", [])),
                    "examples": meta.get("n_examples"), "threshold": cal.get("threshold"),
                    "coverage": cal.get("held_out_coverage"), "precision": cal.get("held_out_precision"),
                    "trained_at": datetime.fromtimestamp(meta.get("trained_at", 0))})
    return out


def reminders_page(session: Session, settings: Settings, chat_id: int) -> dict[str, Any]:
    rows = reminding.active(session, chat_id)
    tz = settings.tz
    return {"reminders": [{"id": r.id, "when": r.due_at.astimezone(tz), "text": r.text, "recurrence": r.recurrence,
                           "kind": r.kind} for r in rows], "tz": settings.schedule.timezone}


def inbox_page(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Handoffs and drafts from every inbox, newest first; each inbox's mode; questions per inbox."""
    tz = settings.tz
    starts, counts = queue.questions_per_week(session, now)
    chart = charts.stacked_bars([f"{s.astimezone(tz):%d %b}" for s in starts],
                                {inbox_label(i): counts.get(i, []) for i in INBOXES},
                                "Questions per inbox, per week", "questions")
    items = [{"id": i.id, "kind": i.kind, "inbox": i.inbox, "where": i.where, "tag": texts.INBOX_TAGS.get(i.inbox, ""),
              "name": i.name, "question": i.question, "suggestion": i.suggestion, "reason": i.reason,
              "at": i.created_at.astimezone(tz)} for i in queue.waiting(session)]
    modes = [{"inbox": i, "label": inbox_label(i), "mode": inbox_mode(settings, i)} for i in INBOXES]
    return {"items": items, "modes": modes, "charts": [chart], "mode_choices": queue.MODES,
            "totals": queue.questions_per_inbox(session), "labels": {i: inbox_label(i) for i in INBOXES}}


SOURCE_NAMES = {"answer": "answered by the FAQ", "handoff": "handed off", "dm": "other messages",
                "comment": "comments"}
CHANGE_WORDS = {"new": "new this week", "same": "about as many as the week before ({before})",
                "up": "up from {before} the week before", "down": "down from {before} the week before"}


def asks_page(session: Session, settings: Settings, now: datetime, models: ModelFactory | None) -> dict[str, Any]:
    """The week's question themes, computed here (the page is read in a worker thread, outside any write)."""
    inp = grouping.read_input(session, settings, now)
    result = (grouping.compute(inp, models.encoder(), models.multilingual_encoder) if models is not None
              else asks.Asks(inp.start, inp.end, len(inp.now)))
    tz = settings.tz
    dates: dict[str, datetime] = {}
    grouping.gather(session, settings, inp.start, inp.end, dates)
    day_keys = [(inp.start + timedelta(days=i + 1)).astimezone(tz).date() for i in range(7)]
    index = {d: i for i, d in enumerate(day_keys)}
    per_source = {name: [0.0] * 7 for name in SOURCE_NAMES.values()}
    for key, at in dates.items():
        i = index.get(at.astimezone(tz).date())
        if i is not None:
            per_source[SOURCE_NAMES[key.partition(":")[0]]][i] += 1
    chart = charts.stacked_bars([f"{d:%a %d}" for d in day_keys], per_source, "Follower questions per day",
                                "questions")
    texts_by_key = asks.question_texts(session, [k for t in result.themes for k in t.keys])
    themes = [{"label": t.label, "askers": t.askers, "questions": t.questions, "faq_share": t.faq_share,
               "handed_off_share": t.handed_off_share, "action": t.action, "tags": t.tags,
               "change": CHANGE_WORDS.get(t.status, "").format(before=t.askers_before),
               "questions_text": "\n".join(dict.fromkeys(texts_by_key[k].strip() for k in t.keys if k in texts_by_key))}
              for t in result.themes]
    return {"charts": [chart], "themes": themes, "gone": result.gone, "questions": result.questions, "start": result.start.astimezone(tz),
            "end": (result.end - timedelta(seconds=1)).astimezone(tz)}


def plan_page(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    """Next week's plan as /plan would propose it (not stored here), and how the last stored plan did."""
    inp = planning.read(session, settings, now)
    outcome = planning.compute(inp)
    plan = outcome.plan
    grid = (np.asarray(inp.slot_scores) * 100).reshape(7, 24)
    chart = charts.heatmap(grid, DAY_NAMES, f"Planned slots on your audience's activity ({settings.schedule.timezone})",
                           highlight=[(s.at.weekday(), s.at.hour) for s in plan.slots])
    return {"charts": [chart], "plan": planning.plan_json(outcome), "tz": settings.schedule.timezone}
