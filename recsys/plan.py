"""A weekly posting plan: which topic at which slot, within the creator's rules; then, was it followed and did it work.

* `parse_rules` reads rules written in plain text (`RULE_FORMS` lists what is understood).
* `propose_week` picks slots from the best-time model's hour-of-week scores and topics from the tag ranking:
  rules first (`at least one #business a week`), then a stated share of slots for under-tried tags
  (fewer than `min_posts` posts: exploring), then the best-ranked tags; the best topics get the best slots.
  A topic with few posts carries a plain note ('#gear: only 2 posts, try it once more').
* `followed` recognises published posts that follow the plan, by tag and time; `score` compares their
  interactions with the channel's usual posts (bootstrap interval and Mann-Whitney from recsys.abtest).

User-facing wording of the notes is in `NOTES` (format strings), for the bot to replace; a score says its
`verdict` (too_few, better, worse, unclear) and the bot words it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from recsys.abtest import compare
from recsys.tags import normalize_tag

HOURS = 168

RULE_FORMS = (
    "never on Sundays  (any weekday, several with 'and', or 'weekends' / 'weekdays')",
    "at most 1 post a day",
    "at most 5 posts a week",
    "at least 3 posts a week",
    "at least one #business a week",
)

NOTES = {
    "never_posted": "#{tag}: never posted yet, a first try",
    "few_posts": "#{tag}: only {posts} post{s}, try it once more",
    "rule": "#{tag}: your rule '{rule}'",
    "ranked": "#{tag}: ranked {rank} of your topics",
}


# ---------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class NeverOn:
    weekdays: tuple[int, ...]  # 0 = Monday
    text: str = ""


@dataclass(frozen=True)
class MaxPerDay:
    n: int
    text: str = ""


@dataclass(frozen=True)
class MaxPerWeek:
    n: int
    text: str = ""


@dataclass(frozen=True)
class MinPerWeek:
    n: int
    text: str = ""


@dataclass(frozen=True)
class MinTagPerWeek:
    tag: str  # normalised, no '#'
    n: int
    text: str = ""


Rule = NeverOn | MaxPerDay | MaxPerWeek | MinPerWeek | MinTagPerWeek


class RuleError(ValueError):
    """A rule that was not understood; the message names it and lists the accepted forms."""

    def __init__(self, rules: Sequence[str]) -> None:
        self.rules = list(rules)
        which = "; ".join(f"'{r}'" for r in rules)
        super().__init__(f"rule{'s' if len(rules) > 1 else ''} not understood: {which}. "
                         f"Accepted forms: {'; '.join(RULE_FORMS)}")


_DAYS = {name: i for i, names in enumerate((("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
                                              ("thursday", "thu", "thurs"), ("friday", "fri"),
                                              ("saturday", "sat"), ("sunday", "sun"))) for name in names}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_N = r"(\d+|a|an|one|once|two|twice|three|four|five|six|seven|eight|nine|ten)"
_PER = r"(?:a|per|each|every)\s+"
_NEVER = re.compile(r"^(?:never|no\s+posts?|don'?t\s+post|do\s+not\s+post)\s+(?:on\s+)?(.+)$")
_MAX = re.compile(rf"^(?:at\s+most|max(?:imum)?|no\s+more\s+than|up\s+to)\s+{_N}\s+(?:posts?\s+)?{_PER}(day|week)$")
_MIN = re.compile(rf"^(?:at\s+least|min(?:imum)?|no\s+fewer\s+than)\s+{_N}\s+posts?\s+{_PER}week$")
_MIN_TAG = re.compile(rf"^(?:at\s+least|min(?:imum)?)\s+{_N}\s+#(\w+)(?:\s+posts?)?\s+{_PER}week$")


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _weekdays(spec: str) -> tuple[int, ...] | None:
    days: set[int] = set()
    for part in re.split(r"\s*(?:,|\band\b|\bor\b|/)\s*", spec):
        word = part.strip()
        if word.endswith("s") and word not in _DAYS:  # plural: "Sundays", "weekends"
            word = word[:-1]
        if not word:
            continue
        if word == "weekend":
            days |= {5, 6}
        elif word == "weekday":
            days |= {0, 1, 2, 3, 4}
        elif word in _DAYS:
            days.add(_DAYS[word])
        else:
            return None
    return tuple(sorted(days)) or None


def parse_rule(text: str) -> Rule:
    """One rule in plain text (see RULE_FORMS); raises RuleError naming it when it is not understood."""
    s = re.sub(r"\s+", " ", text.strip().lower().rstrip(".!")).replace("’", "'")
    if m := _NEVER.match(s):
        days = _weekdays(m.group(1))
        if days is not None:
            return NeverOn(days, text.strip())
    if m := _MAX.match(s):
        n = _number(m.group(1))
        return MaxPerDay(n, text.strip()) if m.group(2) == "day" else MaxPerWeek(n, text.strip())
    if m := _MIN_TAG.match(s):
        return MinTagPerWeek(normalize_tag(m.group(2)), _number(m.group(1)), text.strip())
    if m := _MIN.match(s):
        return MinPerWeek(_number(m.group(1)), text.strip())
    raise RuleError([text.strip()])


def parse_rules(text: str | Sequence[str]) -> list[Rule]:
    """Rules one per line (or separated by ';'); every rule not understood is named in one RuleError."""
    items = [text] if isinstance(text, str) else list(text)
    lines = [line for item in items for line in item.replace(";", "\n").splitlines()]
    rules: list[Rule] = []
    bad: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rules.append(parse_rule(line))
        except RuleError as exc:
            bad += exc.rules
    if bad:
        raise RuleError(bad)
    return rules


# ---------------------------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class PlannedSlot:
    at: datetime  # local start of the hour, in the plan's time zone
    tag: str
    reason: str  # 'rule', 'explore' or 'ranked'
    note: str  # plain words for the creator (NOTES)
    uncertain: bool  # the tag has fewer than min_posts posts
    posts_so_far: int
    tag_score: float
    slot_score: float


@dataclass
class Plan:
    start: datetime
    end: datetime
    slots: list[PlannedSlot]
    explore_share: float  # share of slots given to under-tried tags
    unmet: list[str] = field(default_factory=list)  # rules or wishes the plan could not satisfy


def _hour_index(at: datetime) -> int:
    return at.weekday() * 24 + at.hour


def _first_hour(start: datetime) -> datetime:
    base = start.replace(minute=0, second=0, microsecond=0)
    return base if base == start else base + timedelta(hours=1)


def violations(slots: Sequence[PlannedSlot], rules: Sequence[Rule]) -> list[str]:
    """The rules these slots break, each as its text with what happened (empty: every rule kept)."""
    out: list[str] = []
    per_day = Counter(s.at.date() for s in slots)
    tags = Counter(s.tag for s in slots)
    for rule in rules:
        if isinstance(rule, NeverOn):
            bad = [s for s in slots if s.at.weekday() in rule.weekdays]
            if bad:
                out.append(f"'{rule.text}': {len(bad)} post(s) on a forbidden day")
        elif isinstance(rule, MaxPerDay):
            if per_day and max(per_day.values()) > rule.n:
                out.append(f"'{rule.text}': {max(per_day.values())} posts on one day")
        elif isinstance(rule, MaxPerWeek):
            if len(slots) > rule.n:
                out.append(f"'{rule.text}': {len(slots)} posts in the week")
        elif isinstance(rule, MinPerWeek):
            if len(slots) < rule.n:
                out.append(f"'{rule.text}': only {len(slots)} posts in the week")
        elif tags[rule.tag] < rule.n:
            out.append(f"'{rule.text}': {tags[rule.tag]} #{rule.tag} post(s) in the week")
    return out


def _pick_slots(slot_scores: np.ndarray, rules: Sequence[Rule], first: datetime, n: int,
                min_gap_hours: int) -> list[tuple[datetime, float]]:
    forbidden = {d for r in rules if isinstance(r, NeverOn) for d in r.weekdays}
    cap = min([r.n for r in rules if isinstance(r, MaxPerDay)], default=24)
    hours = [first + timedelta(hours=h) for h in range(HOURS)]
    candidates = sorted((at for at in hours if at.weekday() not in forbidden),
                        key=lambda at: (-float(slot_scores[_hour_index(at)]), at))
    chosen: list[datetime] = []
    for allowed in range(1, cap + 1):  # one per day first, then a second on the best days, ...
        for at in candidates:
            if len(chosen) >= n:
                break
            same_day = [c for c in chosen if c.date() == at.date()]
            if len(same_day) >= allowed or at in chosen:
                continue
            if any(abs((c - at).total_seconds()) < min_gap_hours * 3600 for c in chosen):
                continue
            chosen.append(at)
    return [(at, float(slot_scores[_hour_index(at)])) for at in chosen]


def propose_week(tag_scores: Mapping[str, float], tag_post_counts: Mapping[str, int], slot_scores: np.ndarray,
                 rules: Sequence[Rule], start: datetime, explore_share: float = 0.2,
                 rng: np.random.Generator | None = None, posts: int = 5, min_posts: int = 3,
                 min_gap_hours: int = 4) -> Plan:
    """Plan the week [start, start + 7 days).

    tag_scores: tag -> expected interactions per post (e.g. TagInterestModel.audience_rate by tag name);
    tag_post_counts: tag -> posts so far (a tag missing here has none). slot_scores: (168,) hour-of-week
    scores (Monday 00:00 = 0, e.g. PostingTimeModel.scores) in the time zone of `start` (tz-aware).
    posts: how many posts to plan, moved into the rules' bounds (`at least N posts`, `at most N posts a
    week`, the tag minimums). explore_share: share of slots (0 .. 1) for tags with fewer than `min_posts`
    posts, at least one slot when it is above 0 and such a tag exists. min_gap_hours: between two posts.
    The slots come back in time order; rules the plan cannot keep are listed in `unmet`.
    """
    if not 0.0 <= explore_share <= 1.0:
        raise ValueError(f"explore_share must be between 0 and 1, not {explore_share}")
    scores = np.asarray(slot_scores, dtype=float)
    if scores.shape != (HOURS,):
        raise ValueError(f"slot_scores must have shape ({HOURS},), not {scores.shape}")
    rng = rng or np.random.default_rng(0)
    scored = {normalize_tag(t): float(v) for t, v in tag_scores.items()}
    counts = {normalize_tag(t): int(v) for t, v in tag_post_counts.items()}
    tags = sorted(set(scored) | set(counts))
    required = [(r.tag, r.n, r.text) for r in rules if isinstance(r, MinTagPerWeek)]
    wanted = max([posts, sum(n for _, n, _ in required)] + [r.n for r in rules if isinstance(r, MinPerWeek)])
    wanted = min([wanted] + [r.n for r in rules if isinstance(r, MaxPerWeek)])
    first = _first_hour(start)
    chosen = _pick_slots(scores, rules, first, wanted, min_gap_hours)
    unmet: list[str] = []
    if not tags and not required:
        return Plan(first, first + timedelta(days=7), [], 0.0, ["no tags to plan with yet"])
    if len(chosen) < wanted:
        unmet.append(f"only {len(chosen)} of {wanted} posts fit the rules this week")

    # topics: (tag, reason, rule text), rules first, then exploring, then the ranking
    topics: list[tuple[str, str, str]] = []
    for tag, n, text in required:
        topics += [(tag, "rule", text)] * n
    topics = topics[: len(chosen)]
    free = len(chosen) - len(topics)
    under_tried = [t for t in tags if counts.get(t, 0) < min_posts and t not in {r[0] for r in required}]
    order = [under_tried[i] for i in rng.permutation(len(under_tried))]
    order.sort(key=lambda t: counts.get(t, 0))  # the least tried first; random among equals
    n_explore = min(free, len(order), explore_count(len(chosen), explore_share))
    topics += [(t, "explore", "") for t in order[:n_explore]]
    tried = sorted((t for t in tags if counts.get(t, 0) >= min_posts), key=lambda t: (-scored.get(t, 0.0), t))
    pool = tried or sorted(tags, key=lambda t: (-scored.get(t, 0.0), t))
    present = {t for t, _, _ in topics}
    fill = [t for t in pool if t not in present] + pool * len(chosen)  # tags not in the plan yet come first
    topics += [(t, "ranked", "") for t in fill[: len(chosen) - len(topics)]]
    rank = {t: i + 1 for i, t in enumerate(sorted(tags, key=lambda t: (-scored.get(t, 0.0), t)))}

    # the best-scored topics get the best slots
    by_slot = sorted(chosen, key=lambda c: (-c[1], c[0]))
    by_topic = sorted(topics, key=lambda x: (-scored.get(x[0], 0.0), x[1] != "ranked", x[0]))
    slots = [_slot(at, slot_score, tag, reason, text, counts.get(tag, 0), scored.get(tag, 0.0), rank.get(tag, 0),
                   min_posts) for (at, slot_score), (tag, reason, text) in zip(by_slot, by_topic, strict=False)]
    slots.sort(key=lambda s: s.at)
    unmet += violations(slots, rules)
    share = n_explore / len(slots) if slots else 0.0
    return Plan(first, first + timedelta(days=7), slots, share, unmet)


def _slot(at: datetime, slot_score: float, tag: str, reason: str, rule: str, posts: int, tag_score: float,
          rank: int, min_posts: int) -> PlannedSlot:
    s = "" if posts == 1 else "s"
    if posts == 0:
        note = NOTES["never_posted"].format(tag=tag)
    elif posts < min_posts:
        note = NOTES["few_posts"].format(tag=tag, posts=posts, s=s)
    elif reason == "rule":
        note = NOTES["rule"].format(tag=tag, rule=rule)
    else:
        note = NOTES["ranked"].format(tag=tag, rank=rank)
    return PlannedSlot(at=at, tag=tag, reason=reason, note=note, uncertain=posts < min_posts, posts_so_far=posts,
                       tag_score=tag_score, slot_score=slot_score)


# ---------------------------------------------------------------------------------------------- afterwards
@dataclass(frozen=True)
class PublishedPost:
    id: object
    at: datetime  # tz-aware
    tags: tuple[str, ...]
    interactions: float


@dataclass
class FollowReport:
    matched: list[tuple[PlannedSlot, PublishedPost]]
    missed: list[PlannedSlot]  # planned, not published (within the tolerance, with the tag)
    off_plan: list[PublishedPost]  # published in the plan's week without a planned slot

    @property
    def share_followed(self) -> float:
        total = len(self.matched) + len(self.missed)
        return len(self.matched) / total if total else 0.0


def followed(plan: Plan, posts: Sequence[PublishedPost], tolerance: timedelta = timedelta(hours=3)) -> FollowReport:
    """Pair planned slots with published posts: same tag (normalised) and within `tolerance` of the slot.

    One post per slot, closest in time first. Posts outside the plan's week (± tolerance) are ignored.
    """
    pairs: list[tuple[float, int, int]] = []
    for i, slot in enumerate(plan.slots):
        for j, post in enumerate(posts):
            gap = abs((post.at - slot.at).total_seconds())
            if gap <= tolerance.total_seconds() and slot.tag in {normalize_tag(t) for t in post.tags}:
                pairs.append((gap, i, j))
    slot_of: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in slot_of and j not in used:
            slot_of[i] = j
            used.add(j)
    matched = [(plan.slots[i], posts[j]) for i, j in sorted(slot_of.items())]
    missed = [s for i, s in enumerate(plan.slots) if i not in slot_of]
    in_week = [p for j, p in enumerate(posts) if j not in used
               and plan.start - tolerance <= p.at < plan.end + tolerance]
    return FollowReport(matched, missed, in_week)


@dataclass(frozen=True)
class PlanScore:
    n: int
    mean: float  # interactions per planned post
    usual: float  # interactions per usual post
    ratio: float | None  # mean / usual
    ci_low: float | None  # 95 % bootstrap interval of the ratio
    ci_high: float | None
    p_value: float | None  # two-sided Mann-Whitney U
    enough_data: bool
    verdict: str  # too_few | better | worse | unclear (the interval of the ratio against 1)


def score(followed_posts: FollowReport | Sequence[float], usual_interactions: Sequence[float],
          seed: int = 0) -> PlanScore:
    """Interactions per post of the posts that followed the plan against the channel's usual posts.

    followed_posts: a FollowReport or the planned posts' interactions; usual_interactions: per-post
    interactions of the channel's other recent posts. The interval is recsys.abtest's bootstrap of the
    ratio of means; with fewer than abtest.MIN_POSTS posts on either side it says so instead.
    """
    if isinstance(followed_posts, FollowReport):
        values = np.array([p.interactions for _, p in followed_posts.matched], dtype=float)
    else:
        values = np.asarray(followed_posts, dtype=float)
    usual = np.asarray(usual_interactions, dtype=float)
    result = compare(values, usual, "planned posts", "usual posts", seed=seed)
    n = len(values)
    if not result.enough_data or result.ratio is None or result.ci_low is None or result.ci_high is None:
        return PlanScore(n, result.mean_a, result.mean_b, result.ratio, None, None, None, False, "too_few")
    verdict = "better" if result.ci_low > 1 else "worse" if result.ci_high < 1 else "unclear"
    return PlanScore(n, result.mean_a, result.mean_b, result.ratio, result.ci_low, result.ci_high, result.p_value,
                     True, verdict)


def explore_count(n_slots: int, explore_share: float) -> int:
    """How many of n slots a share asks for (at least one when the share is above 0)."""
    return 0 if explore_share <= 0 or n_slots <= 0 else min(n_slots, max(1, int(explore_share * n_slots + 0.5)))
