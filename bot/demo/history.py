"""Eight weeks of a channel's past for the demo, played into the sandbox with backdated dates.

The bot records the history with its own code (posts, their forwards, comments, reaction counts,
joins and leaves arrive as ordinary updates, only dated in the past); the daily follower counts it
would have read are written as snapshots. Seeded, so every run shows the same channel.

What was planted, so that /besttime, /suggest, /abtest and the reports have something to find:
- audience activity follows a daily rhythm (quiet nights, a lunch bump, an evening peak) and a
  weekly one (weekends busier), with one slot far above the rest: `PLANTED_SLOT`, Wednesday
  19:00 in `TIMEZONE`, when the creator answers questions live;
- #travel draws about three times the interactions per post of #gear;
- follower growth: more joins on days with a #travel post, more leaves on days with a #gear post;
- question themes in the comments (`QUESTION_THEMES`): in the last week, 6 followers ask which lens to
  use for landscapes (3 the week before), 5 when the next workshop is, 4 whether the presets are for sale
  (4 the week before); /asks, the weekly report and the dashboard's Asks page find them;
- one complaint theme: followers grumble about the price of the prints now and then (`PRICE_COMPLAINTS`),
  and the demo's surge is about the price of the course;
- last week's posting plan (`store_last_plan`): six slots, five of them followed by a post with the slot's
  tag within the hour, so /plan starts with how it did.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channel.posts import record_member_count
from bot.store.models import ChannelPost, PostingPlan, PostTag
from botapi_sandbox.server import BotApiSandbox, JSONDict

TIMEZONE = "Europe/Rome"
WEEKS = 8
PLANTED_SLOT = (2, 19)  # (weekday, hour): Wednesday 19:00 local
PLANTED_BOOST = 7.0
START_FOLLOWERS = 1240
SEED = 14

# tag -> (appeal: relative interactions per post, posts about it)
TOPICS: dict[str, tuple[float, tuple[str, ...]]] = {
    "travel": (3.0, (
        "Sunset from the Seceda ridge #travel #photography", "A week of hut-to-hut hiking: the route #travel",
        "Lago di Sorapiss at 7 am, nobody around #travel", "Tre Cime loop in autumn colours #travel #photography",
        "How I plan a trip around the light #travel", "Val di Funes in the fog #travel #photography",
        "Packing for two weeks with one backpack #travel #gear",
    )),
    "photography": (1.8, (
        "Why I shoot most landscapes at 24 mm #photography", "Foreground first: composing a mountain scene #photography",
        "Long exposure over the lake #photography", "Blue hour vs golden hour #photography",
    )),
    "editing": (1.3, (
        "Before/after: bringing back the shadows #editing", "My colour grading for winter scenes #editing",
        "Masking skies without halos #editing #photography",
    )),
    "gear": (1.0, (
        "Unboxing the new tripod #gear", "Filters I actually use #gear", "Rain covers compared #gear",
        "Lens cleaning kit for the field #gear",
    )),
}
COMMENTS: dict[str, tuple[str, ...]] = {
    "travel": ("Adding this to my list!", "How long is the hike?", "Wow, this place is unreal",
               "Were there many people?", "Going there next summer thanks to you", "Which month was this?",
               "Breathtaking 😍", "Is the hut open in October?"),
    "photography": ("Great composition", "What focal length?", "Love the depth in this one",
                    "Did you use a filter?", "The light is perfect"),
    "editing": ("Thanks, this helped a lot", "Can you share the preset?", "Subtle and clean edit",
                "I always overdo the clarity slider 😅"),
    "gear": ("Seems heavy", "How much was it?", "I prefer my old one", "Is it worth the price?"),
    "any": ("Beautiful as always", "🔥🔥🔥", "Thanks for sharing", "Not my favourite, to be honest",
            "Too many gear posts lately", "Incredible", "This made my day"),
}
LIVE_COMMENTS = ("Question for the live: best lens for hiking?", "Hi from Munich! 👋", "Joining the live now",
                 "Can you talk about drones?", "Great Q&A tonight", "How do you avoid crowds?",
                 "What's your next trip?", "Thanks for answering my question!")
# (texts asked in the last 7 days, texts asked the week before): one follower per question
QUESTION_THEMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lens": (("Which lens do you use for landscapes?", "What lens do you use for your landscape shots?",
              "Which lens is best for landscape photos?", "What's your favourite lens for landscapes?",
              "Which landscape lens would you recommend?", "What lens did you use for this landscape?"),
             ("Which lens do you use for landscapes?", "What lens is good for landscapes?",
              "Which lens for landscape photography?")),
    "workshop": (("When is your next photo workshop?", "When is the next workshop in the Dolomites?",
                  "Are you planning another photo workshop soon?", "When can I sign up for the next workshop?",
                  "Is there a workshop coming up this year?"), ()),
    "presets": (("Do you sell your Lightroom presets?", "Can I buy your Lightroom presets?",
                 "Are your Lightroom presets for sale?", "Where can I get your Lightroom presets?"),
                ("Do you sell your presets?", "Can we buy your Lightroom presets?", "Are your presets for sale?",
                 "Will you sell your Lightroom presets?")),
}
PRICE_COMPLAINTS = ("The prints are way too expensive now", "That price for a print is too much for me",
                    "Prices went up again? Not cool")
PLAN_SLOTS = 6  # last week's plan: six slots, the first five followed
NAMES = ("Lena", "Marco", "Sofia", "Jonas", "Giulia", "Noah", "Emma", "Luca", "Mia", "Felix", "Anna", "Paul",
         "Sara", "Tom", "Elena", "Max", "Clara", "Leo", "Nora", "David", "Alice", "Ben", "Ida", "Oskar")


def hourly_activity(weekday: int, hour: int) -> float:
    """Audience activity by local weekday and hour (relative)."""
    by_hour = (0.08, 0.05, 0.04, 0.04, 0.05, 0.1, 0.3, 0.6, 0.7, 0.6, 0.55, 0.6, 1.0, 0.95, 0.6, 0.55, 0.6, 0.8,
               1.2, 1.6, 1.6, 1.5, 0.9, 0.4)
    by_day = (0.9, 0.9, 1.0, 0.9, 0.8, 1.2, 1.3)
    boost = PLANTED_BOOST if (weekday, hour) == PLANTED_SLOT else 1.0
    return by_hour[hour] * by_day[weekday] * boost


@dataclass
class History:
    posts: int = 0
    comments: int = 0
    joins: int = 0
    leaves: int = 0
    follower_counts: list[tuple[datetime, int]] = field(default_factory=list)
    questions: int = 0


def _post_times(rng: random.Random, start: datetime, days: int, tz: ZoneInfo) -> list[datetime]:
    """One post a day at one of the creator's usual hours (local), a second one some days."""
    out = []
    for d in range(days):
        day = (start + timedelta(days=d)).astimezone(tz).date()
        hours = [rng.choice((8, 12, 17, 18, 21))]
        if rng.random() < 0.3:
            hours.append(rng.choice((10, 15, 20)))
        for h in sorted(set(hours)):
            out.append(datetime(day.year, day.month, day.day, h, rng.randrange(0, 50), tzinfo=tz))
    return out


def _comment_times(rng: random.Random, posted: datetime, n: int, now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Times within three days after a post: audience activity times a decay since the post."""
    steps = [posted + timedelta(minutes=10 * i) for i in range(1, 6 * 72)]
    steps = [t for t in steps if t < now]
    if not steps:
        return []
    weights = []
    for t in steps:
        local = t.astimezone(tz)
        age_h = (t - posted).total_seconds() / 3600
        weights.append(hourly_activity(local.weekday(), local.hour) * math.exp(-age_h / 30))
    return sorted(rng.choices(steps, weights, k=n))


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth for small means, normal approximation above
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def play_history(sandbox: BotApiSandbox, now: datetime, tz: ZoneInfo | None = None, seed: int = SEED) -> History:
    """Queue eight weeks of dated updates into the sandbox; returns what was played."""
    tz = tz or ZoneInfo(TIMEZONE)
    rng = random.Random(seed)
    start = now - timedelta(weeks=WEEKS)
    history = History()
    followers = [sandbox.user(2000 + i, name, language_code=rng.choice(("en", "it", "de")))
                 for i, name in enumerate(NAMES)]
    activity = [rng.paretovariate(1.5) for _ in followers]  # a few followers comment a lot
    events: list[tuple[datetime, int, str, JSONDict, Any]] = []  # (when, order, kind, target, payload)
    topic_cycle = [t for t, (_, texts) in TOPICS.items() for _ in texts]
    posted_tags: dict[object, set[str]] = {}
    for i, when in enumerate(_post_times(rng, start, WEEKS * 7, tz)):
        tag = topic_cycle[(i * 7) % len(topic_cycle)] if i % 3 else rng.choice(topic_cycle)
        appeal, texts_ = TOPICS[tag]
        text = texts_[(i // len(TOPICS)) % len(texts_)]
        post, forward = sandbox.channel_post(text, date=int(when.timestamp()))
        history.posts += 1
        posted_tags.setdefault(when.astimezone(tz).date(), set()).add(tag)
        for t in _comment_times(rng, when, _poisson(rng, appeal * 5.5), now, tz):
            local = t.astimezone(tz)
            live = (local.weekday(), local.hour) == PLANTED_SLOT
            pool = LIVE_COMMENTS if live else COMMENTS[tag] + COMMENTS["any"] if rng.random() < 0.3 else COMMENTS[tag]
            events.append((t, 1, "comment", forward, rng.choice(pool)))
        reactions = _poisson(rng, appeal * 22)
        split = {"👍": reactions // 2, "❤": reactions // 3, "🔥": reactions - reactions // 2 - reactions // 3}
        events.append((min(when + timedelta(days=2), now - timedelta(minutes=1)), 2, "reactions", post,
                       {k: v for k, v in split.items() if v}))
    count = START_FOLLOWERS
    sandbox.member_count = START_FOLLOWERS
    day = start.astimezone(tz).replace(hour=0, minute=5, second=0, microsecond=0) + timedelta(days=1)
    n_user = 0
    while day < now:
        history.follower_counts.append((day, count))
        tags = posted_tags.get(day.date(), set())
        joins = _poisson(rng, 5 + 5 * ("travel" in tags))
        leaves = _poisson(rng, 1.5 + 3 * ("gear" in tags))
        for j in range(joins + leaves):
            n_user += 1
            user = {"id": 300000 + n_user, "is_bot": False, "first_name": f"Follower {n_user}"}
            when = day + timedelta(minutes=rng.randrange(6 * 60, 23 * 60))
            if when < now:
                events.append((when, 3, "join" if j < joins else "leave", user, ""))
                count += 1 if j < joins else -1
        day += timedelta(days=1)
    # question themes under the latest post before each question, in the last week and the week before
    posted = forwards_at(events)
    planted: list[tuple[datetime, str]] = []
    for recent, before in QUESTION_THEMES.values():
        planted += [(now - timedelta(days=rng.uniform(0.3, 6.5)), text) for text in recent]
        planted += [(now - timedelta(days=7 + rng.uniform(0.3, 6.5)), text) for text in before]
    planted += [(now - timedelta(days=10 + 12 * i, hours=rng.randrange(24)), text)  # a grumble about the price
                for i, text in enumerate(PRICE_COMPLAINTS)]
    askers = rng.sample(followers, len(followers))
    for i, (when, text) in enumerate(planted):
        target = next((f for at, f in reversed(posted) if at < when), posted[0][1])
        events.append((when, 1, "question", target, (askers[i % len(askers)], text)))
    for when, _, kind, target, payload in sorted(events, key=lambda e: (e[0], e[1])):
        date = int(when.timestamp())
        if kind == "comment":
            sandbox.comment(target, rng.choices(followers, activity)[0], payload, date=date)
            history.comments += 1
        elif kind == "question":
            sandbox.comment(target, payload[0], payload[1], date=date)
            history.comments += 1
            history.questions += 1
        elif kind == "reactions":
            sandbox.reactions(target, payload, date=date)
        else:
            sandbox.member(target, joined=kind == "join", date=date)
            history.joins += kind == "join"
            history.leaves += kind == "leave"
    return history


def store_follower_counts(session: Session, chat_id: int, history: History) -> None:
    """The daily follower counts the bot would have read over those weeks."""
    for at, count in history.follower_counts:
        record_member_count(session, chat_id, count, at)


def forwards_at(events: list[tuple[datetime, int, str, JSONDict, Any]]) -> list[tuple[datetime, JSONDict]]:
    """(when posted, forward in the group) of every post, oldest first (comments answer a post before them)."""
    seen: dict[int, tuple[datetime, JSONDict]] = {}
    for when, _, kind, target, _ in events:
        if kind == "comment" and target["message_id"] not in seen:
            seen[target["message_id"]] = (when, target)
    return sorted(seen.values(), key=lambda x: x[0])


def store_last_plan(session: Session, chat_id: int, now: datetime, tz: ZoneInfo | None = None) -> PostingPlan | None:
    """Last week's plan, as /plan would have stored it: Monday to Sunday before this week, one slot a day at
    the hour the creator then posted (with that post's tag), the first five followed; the sixth slot was
    missed. Returns None when the history has too few posts that week."""
    tz = tz or ZoneInfo(TIMEZONE)
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday() + 7)).date()
    start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
    end = start + timedelta(days=7)
    slots: list[dict[str, Any]] = []
    used_days: set[object] = set()
    posts = session.execute(select(ChannelPost.id, ChannelPost.posted_at).where(
        ChannelPost.posted_at >= start, ChannelPost.posted_at < end).order_by(ChannelPost.posted_at)).all()
    for post_id, posted_at in posts:
        at = posted_at.astimezone(tz)
        if at.date() in used_days or at.weekday() == 6:
            continue
        tag = session.scalars(select(PostTag.tag).where(PostTag.post_id == post_id).order_by(PostTag.tag)).first()
        if tag is None:
            continue
        used_days.add(at.date())
        slots.append({"at": at.replace(minute=0).isoformat(), "tag": tag, "reason": "ranked",
                      "note": f"#{tag}", "uncertain": False, "posts_so_far": 3, "tag_score": 1.0, "slot_score": 1.0})
        if len(slots) == PLAN_SLOTS - 1:
            break
    if len(slots) < PLAN_SLOTS - 1:
        return None
    free = next(d for d in range(6) if (start + timedelta(days=d)).date() not in used_days)
    missed = (start + timedelta(days=free)).replace(hour=19)
    slots.append({"at": missed.isoformat(), "tag": "business", "reason": "explore", "note": "#business",
                  "uncertain": True, "posts_so_far": 0, "tag_score": 0.0, "slot_score": 1.0})  # never posted then
    slots.sort(key=lambda s: s["at"])
    row = PostingPlan(chat_id=chat_id, start=start, end=end, slots=slots, explore_share=1 / PLAN_SLOTS,
                      rules=["never on Sundays", "at most 1 post a day"], unmet=[],
                      created_at=start - timedelta(days=2))
    session.add(row)
    session.flush()
    return row
