"""/plan: next week's posting plan from the tag ranking and the best-time model together (`recsys.plan`),
within the creator's rules ([recsys] plan_rules, set in the chat with `/plan rules ...`); posts that follow
a stored plan are recognised by their tags and time, and the next /plan starts with how the last one did.

`read` (a session, quick reads), `compute` (plain data, in a thread), `save` (a transaction). Every word the
creator sees is in bot/texts.py (PLAN_NOTES mirror the library's NOTES; PLAN_SUMMARIES word a score's verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel.engagement import post_interactions, posting_time_model
from bot.store.models import PostingPlan, PostTag, utcnow
from bot.topics.interest import fit_interest, load_dataset
from recsys.plan import (
    MinTagPerWeek,
    Plan,
    PlannedSlot,
    PlanScore,
    PublishedPost,
    Rule,
    followed,
    parse_rules,
    propose_week,
    score,
)
from recsys.timing import DAY_NAMES

MIN_POSTS = 3  # a tag with fewer posts is under-tried: uncertain, and a candidate for exploring
TOLERANCE = timedelta(hours=3)  # a post within this of a planned slot, with its tag, follows the plan
USUAL_WEEKS = 4  # the channel's usual: interactions per post over these weeks before the plan


@dataclass(frozen=True)
class LastResult:
    start: datetime
    end: datetime
    planned: int
    matched: int
    off_plan: int
    score: PlanScore
    finished: bool  # its week is over


@dataclass(frozen=True)
class PlanInput:
    now: datetime
    start: datetime  # local midnight of next Monday, in the creator's time zone
    tag_scores: dict[str, float]
    tag_counts: dict[str, int]
    slot_scores: np.ndarray
    rules: list[Rule]
    explore_share: float
    last: tuple[PostingPlan, Plan] | None
    posts: list[PublishedPost]  # published around the last plan's week and the weeks before it
    tz: ZoneInfo


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    rules: list[Rule]
    last: LastResult | None
    last_id: int | None


def next_week_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of the coming Monday (local)."""
    day = (now.astimezone(tz) + timedelta(days=7 - now.astimezone(tz).weekday())).date()
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def stored_plan(row: PostingPlan, tz: ZoneInfo) -> Plan:
    slots = [PlannedSlot(at=datetime.fromisoformat(s["at"]).astimezone(tz), tag=s["tag"], reason=s["reason"],
                         note=s.get("note", ""), uncertain=bool(s.get("uncertain")),
                         posts_so_far=int(s.get("posts_so_far", 0)), tag_score=float(s.get("tag_score", 0.0)),
                         slot_score=float(s.get("slot_score", 0.0))) for s in row.slots]
    return Plan(row.start.astimezone(tz), row.end.astimezone(tz), slots, row.explore_share, list(row.unmet))


def _published(session: Session, start: datetime, end: datetime) -> list[PublishedPost]:
    posts = post_interactions(session, start, end)
    tags: dict[int, list[str]] = {}
    ids = [p.post_id for p in posts]
    if ids:
        for post_id, tag in session.execute(select(PostTag.post_id, PostTag.tag).where(PostTag.post_id.in_(ids))):
            tags.setdefault(post_id, []).append(tag)
    return [PublishedPost(p.post_id, p.posted_at, tuple(tags.get(p.post_id, ())), float(p.total)) for p in posts]


def read(session: Session, settings: Settings, now: datetime | None = None) -> PlanInput:
    now = now or utcnow()
    tz = settings.tz
    data = load_dataset(session, settings)
    tag_scores: dict[str, float] = {}
    tag_counts: dict[str, int] = {}
    if data.tags:
        model = fit_interest(data, settings, now)
        tag_scores = {t: float(model.audience_rate[i]) for i, t in enumerate(data.tags)}
        tag_counts = {t: int(model.raw_posts[i]) for i, t in enumerate(data.tags)}
    last_row = session.scalars(select(PostingPlan).where(PostingPlan.start <= now)
                               .order_by(PostingPlan.start.desc(), PostingPlan.id.desc()).limit(1)).first()
    last = (last_row, stored_plan(last_row, tz)) if last_row is not None else None
    posts = (_published(session, last_row.start - timedelta(weeks=USUAL_WEEKS), last_row.end + TOLERANCE)
             if last_row is not None else [])
    return PlanInput(now, next_week_start(now, tz), tag_scores, tag_counts,
                     posting_time_model(session, settings).scores, parse_rules(list(settings.recsys.plan_rules)),
                     settings.recsys.plan_explore_share, last, posts, tz)


def last_result(row: PostingPlan, plan: Plan, posts: Sequence[PublishedPost], now: datetime) -> LastResult:
    """Which posts followed the plan, and their interactions per post against the weeks before it."""
    report = followed(plan, [p for p in posts if p.at >= plan.start - TOLERANCE], TOLERANCE)
    matched_ids = {p.id for _, p in report.matched}
    usual = [p.interactions for p in posts if p.at < plan.start and p.id not in matched_ids]
    return LastResult(plan.start, plan.end, len(plan.slots), len(report.matched), len(report.off_plan),
                      score(report, usual), now >= plan.end)


def compute(inp: PlanInput, rng_seed: int = 0) -> PlanOutcome:
    """The last plan's result and next week's plan (blocking: run it in a thread)."""
    last = last_result(inp.last[0], inp.last[1], inp.posts, inp.now) if inp.last is not None else None
    plan = propose_week(inp.tag_scores, inp.tag_counts, inp.slot_scores, inp.rules, inp.start,
                        explore_share=inp.explore_share, rng=np.random.default_rng(rng_seed), min_posts=MIN_POSTS)
    return PlanOutcome(plan, inp.rules, last, inp.last[0].id if inp.last is not None else None)


def save(session: Session, chat_id: int, outcome: PlanOutcome) -> PostingPlan:
    """Store the proposed plan (and the last plan's result on its row)."""
    if outcome.last is not None and outcome.last_id is not None:
        previous = session.get(PostingPlan, outcome.last_id)
        if previous is not None:
            previous.result = summary_text(outcome.last.score)
    plan = outcome.plan
    row = PostingPlan(chat_id=chat_id, start=plan.start, end=plan.end, explore_share=plan.explore_share,
                      unmet=list(plan.unmet), rules=[getattr(r, "text", "") for r in outcome.rules],
                      slots=[{"at": s.at.isoformat(), "tag": s.tag, "reason": s.reason,
                              "note": slot_note(s, outcome.rules, plan), "uncertain": s.uncertain,
                              "posts_so_far": s.posts_so_far, "tag_score": s.tag_score,
                              "slot_score": s.slot_score} for s in plan.slots])
    session.add(row)
    session.flush()
    return row


# ---------------------------------------------------------------------------------------------- words
def slot_note(slot: PlannedSlot, rules: Sequence[Rule], plan: Plan) -> str:
    """The slot's plain-words note (texts.PLAN_NOTES, the library's NOTES in the bot's words)."""
    if slot.posts_so_far == 0:
        return texts.PLAN_NOTES["never_posted"].format(tag=slot.tag)
    if slot.posts_so_far < MIN_POSTS:
        return texts.PLAN_NOTES["few_posts"].format(tag=slot.tag, posts=slot.posts_so_far,
                                                    s="" if slot.posts_so_far == 1 else "s")
    if slot.reason == "rule":
        rule = next((r.text for r in rules if isinstance(r, MinTagPerWeek) and r.tag == slot.tag), "")
        return texts.PLAN_NOTES["rule"].format(tag=slot.tag, rule=rule)
    ranked = sorted({s.tag: s.tag_score for s in plan.slots}.items(), key=lambda kv: (-kv[1], kv[0]))
    rank = next(i for i, (tag, _) in enumerate(ranked, 1) if tag == slot.tag)
    return texts.PLAN_NOTES["ranked"].format(tag=slot.tag, rank=rank, of=len(ranked))


def summary_text(s: PlanScore) -> str:
    """How the planned posts did: the score's verdict in the bot's words (texts.PLAN_SUMMARIES)."""
    if s.verdict == "too_few" or s.ratio is None or s.ci_low is None or s.ci_high is None:
        return texts.PLAN_SUMMARIES["too_few"].format(n=s.n, s="" if s.n == 1 else "s", need=MIN_POSTS)
    return texts.PLAN_SUMMARIES[s.verdict].format(n=s.n, mean=s.mean, ratio=s.ratio, usual=s.usual, low=s.ci_low,
                                                  high=s.ci_high)


def _when(at: datetime) -> str:
    return f"{DAY_NAMES[at.weekday()]} {at:%d %b %H:%M}"


def render(outcome: PlanOutcome, settings: Settings) -> str:
    """The /plan message: the last plan's result first, then next week's slots, rules and what could not fit."""
    tz = settings.tz
    lines: list[str] = []
    if outcome.last is not None:
        last = outcome.last
        lines.append(texts.PLAN_LAST.format(
            start=f"{last.start.astimezone(tz):%d %b}", end=f"{(last.end - timedelta(seconds=1)).astimezone(tz):%d %b}",
            matched=last.matched, planned=last.planned, so_far="" if last.finished else texts.PLAN_SO_FAR,
            summary=texts.esc(summary_text(last.score))))
        lines.append("")
    plan = outcome.plan
    lines.append(texts.PLAN_HEADER.format(start=f"{plan.start:%d %b}", end=f"{(plan.end - timedelta(seconds=1)):%d %b}",
                                          tz=texts.esc(settings.schedule.timezone)))
    if not plan.slots:
        lines.append(texts.PLAN_EMPTY)
    for s in plan.slots:
        mark = texts.PLAN_EXPLORE_MARK if s.reason == "explore" else texts.PLAN_UNCERTAIN_MARK if s.uncertain else ""
        lines.append(texts.PLAN_SLOT.format(when=_when(s.at), mark=mark,
                                            note=texts.esc(slot_note(s, outcome.rules, plan))))
    uncertain = sorted({s.tag for s in plan.slots if s.uncertain})
    if uncertain:
        lines.append(texts.PLAN_UNCERTAIN.format(tags=", ".join(f"#{texts.esc(t)}" for t in uncertain),
                                                 n=MIN_POSTS))
    if plan.slots:
        lines.append(texts.PLAN_EXPLORE.format(share=plan.explore_share * 100))
    rules = [getattr(r, "text", "") for r in outcome.rules]
    lines.append(texts.PLAN_RULES.format(rules="; ".join(texts.esc(r) for r in rules)) if rules
                 else texts.PLAN_NO_RULES)
    if plan.unmet:
        lines.append(texts.PLAN_UNMET.format(unmet="; ".join(texts.esc(u) for u in plan.unmet)))
    lines.append(texts.PLAN_FOOTER.format(hours=int(TOLERANCE.total_seconds() // 3600)))
    return "\n".join(lines)


def plan_json(outcome: PlanOutcome) -> dict[str, Any]:
    """The plan for the dashboard (plain values)."""
    plan = outcome.plan
    return {"start": plan.start, "end": plan.end, "explore_share": plan.explore_share, "unmet": plan.unmet,
            "slots": [{"when": _when(s.at), "tag": s.tag, "reason": s.reason, "uncertain": s.uncertain,
                       "note": slot_note(s, outcome.rules, plan)} for s in plan.slots],
            "rules": [getattr(r, "text", "") for r in outcome.rules],
            "last": None if outcome.last is None else {
                "start": outcome.last.start, "end": outcome.last.end, "matched": outcome.last.matched,
                "planned": outcome.last.planned, "summary": summary_text(outcome.last.score)}}
