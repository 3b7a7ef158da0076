"""The weekly plan: rules from plain text, a plan that keeps them, and a followed plan recognised and scored."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from recsys.plan import (
    MaxPerDay,
    MaxPerWeek,
    MinPerWeek,
    MinTagPerWeek,
    NeverOn,
    PublishedPost,
    RuleError,
    followed,
    parse_rule,
    parse_rules,
    propose_week,
    score,
    violations,
)
from recsys.timing import typical_week

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 7, 8, 30, tzinfo=TZ)  # a Monday morning
TAG_SCORES = {"travel": 10.0, "food": 8.0, "business": 3.0, "gear": 9.0, "drone": 5.0}
TAG_POSTS = {"travel": 12, "food": 9, "business": 5, "gear": 2, "drone": 0}
RULES_TEXT = "never on Sundays\nat most 1 post a day\nat least one #business a week"


def sunday_loving_slots() -> np.ndarray:
    scores = typical_week()
    scores[6 * 24 + 19] = 1.0  # Sunday 19:00 is by far the best hour: the rule must still win
    return scores


def test_rules_are_read_from_plain_text() -> None:
    assert parse_rules(RULES_TEXT) == [NeverOn((6,), "never on Sundays"), MaxPerDay(1, "at most 1 post a day"),
                                       MinTagPerWeek("business", 1, "at least one #business a week")]
    assert parse_rule("No posts on Saturdays and Sundays.").weekdays == (5, 6)  # type: ignore[union-attr]
    assert parse_rule("never on weekends").weekdays == (5, 6)  # type: ignore[union-attr]
    assert parse_rule("Never on Tue, Thu").weekdays == (1, 3)  # type: ignore[union-attr]
    assert parse_rule("at most two posts per day") == MaxPerDay(2, "at most two posts per day")
    assert parse_rule("max 4 posts a week") == MaxPerWeek(4, "max 4 posts a week")
    assert parse_rule("at least 3 posts a week") == MinPerWeek(3, "at least 3 posts a week")
    assert parse_rule("At least 2 #Business posts per week") == MinTagPerWeek(
        "business", 2, "At least 2 #Business posts per week")
    assert parse_rules(["never on Mondays; at most 1 post a day"]) != []


def test_a_rule_not_understood_is_named_with_the_accepted_forms() -> None:
    with pytest.raises(RuleError) as err:
        parse_rules("never on Sundays\nnever on Fundays\npost more cats")
    message = str(err.value)
    assert "'never on Fundays'" in message and "'post more cats'" in message
    assert "never on Sundays" not in message.split("Accepted forms")[0]
    assert "at least one #business a week" in message and "at most 1 post a day" in message
    assert err.value.rules == ["never on Fundays", "post more cats"]


def test_the_plan_respects_every_rule() -> None:
    rules = parse_rules(RULES_TEXT)
    plan = propose_week(TAG_SCORES, TAG_POSTS, sunday_loving_slots(), rules, START, explore_share=0.2,
                        rng=np.random.default_rng(1), posts=5)
    assert len(plan.slots) == 5 and plan.unmet == [] and violations(plan.slots, rules) == []
    assert all(s.at.weekday() != 6 for s in plan.slots)
    assert len({s.at.date() for s in plan.slots}) == 5
    assert any(s.tag == "business" and s.reason == "rule" for s in plan.slots)
    assert all(plan.start <= s.at < plan.end for s in plan.slots)
    assert plan.start == datetime(2026, 12, 7, 9, tzinfo=TZ)
    assert [s.at for s in plan.slots] == sorted(s.at for s in plan.slots)
    assert all(s.at.hour >= 17 for s in plan.slots)  # the evening hours of the best-time model


def test_the_plan_explores_a_stated_share_and_says_so_plainly() -> None:
    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), parse_rules(RULES_TEXT), START,
                        explore_share=0.2, rng=np.random.default_rng(0), posts=5)
    explore = [s for s in plan.slots if s.reason == "explore"]
    assert len(explore) == 1 and plan.explore_share == pytest.approx(0.2)
    assert explore[0].tag == "drone" and explore[0].note == "#drone: never posted yet, a first try"
    ranked = [s.tag for s in plan.slots if s.reason == "ranked"]
    assert ranked == sorted(ranked, key=lambda t: -TAG_SCORES[t]) or set(ranked) == {"travel", "food"}
    assert set(ranked) == {"travel", "food"}  # well-tried tags only; gear has too few posts to be ranked
    best = max(plan.slots, key=lambda s: s.slot_score)
    assert best.tag == "travel"  # the best topic at the best slot

    no_drone = {t: v for t, v in TAG_POSTS.items() if t != "drone"}
    plan = propose_week({t: v for t, v in TAG_SCORES.items() if t != "drone"}, no_drone, typical_week(), [], START, explore_share=0.4, posts=5)
    gear = [s for s in plan.slots if s.tag == "gear"]
    assert len(gear) == 1 and gear[0].uncertain
    assert gear[0].note == "#gear: only 2 posts, try it once more"
    assert plan.explore_share == pytest.approx(0.2)  # 2 slots asked, one under-tried tag to give them to

    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), [], START, explore_share=0.0)
    assert all(s.reason == "ranked" and not s.uncertain for s in plan.slots)


def test_two_posts_a_day_are_spread_and_impossible_rules_are_reported() -> None:
    rules = parse_rules("never on weekends\nat most 2 posts a day")
    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), rules, START, posts=10, min_gap_hours=4)
    assert len(plan.slots) == 10 and violations(plan.slots, rules) == [] and not plan.unmet
    for day in {s.at.date() for s in plan.slots}:
        times = sorted(s.at for s in plan.slots if s.at.date() == day)
        assert len(times) <= 2 and all(b - a >= timedelta(hours=4) for a, b in itertools.pairwise(times))

    rules = parse_rules("never on Sundays\nat most 1 post a day\nat least 8 posts a week")
    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), rules, START)
    # Monday 09:00 to Monday 09:00: six days and the next Monday's early hours
    assert len(plan.slots) == 7 and violations(plan.slots, rules[:2]) == []
    assert plan.unmet == ["only 7 of 8 posts fit the rules this week",
                          "'at least 8 posts a week': only 7 posts in the week"]

    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), parse_rules("at most 3 posts a week"), START, posts=5)
    assert len(plan.slots) == 3 and not plan.unmet


@pytest.mark.parametrize("seed", range(20))
def test_random_rules_and_scores_never_break_a_feasible_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    days = tuple(sorted(rng.choice(7, size=int(rng.integers(0, 3)), replace=False).tolist()))
    rules = [NeverOn(days, "never"), MaxPerDay(int(rng.integers(1, 3)), "max/day"),
             MinTagPerWeek(str(rng.choice(list(TAG_SCORES))), int(rng.integers(1, 3)), "min tag")]
    scores = {t: float(rng.gamma(2, 3)) for t in TAG_SCORES}
    counts = {t: int(rng.integers(0, 8)) for t in TAG_SCORES}
    plan = propose_week(scores, counts, rng.random(168), rules, START + timedelta(hours=int(rng.integers(0, 100))),
                        explore_share=float(rng.random()), rng=rng, posts=int(rng.integers(1, 9)))
    assert violations(plan.slots, rules) == []
    assert plan.unmet == [] or plan.unmet[0].startswith("only")


def test_a_new_channel_without_tags_gets_an_empty_plan_that_says_why() -> None:
    plan = propose_week({}, {}, typical_week(), [], START)
    assert plan.slots == [] and plan.unmet == ["no tags to plan with yet"]
    plan = propose_week({}, {}, typical_week(), parse_rules("at least 2 #business a week"), START, posts=2)
    assert [s.tag for s in plan.slots] == ["business", "business"]
    assert plan.slots[0].note == "#business: never posted yet, a first try" and plan.slots[0].reason == "rule"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="explore_share"):
        propose_week(TAG_SCORES, TAG_POSTS, typical_week(), [], START, explore_share=1.5)
    with pytest.raises(ValueError, match="shape"):
        propose_week(TAG_SCORES, TAG_POSTS, np.ones(24), [], START)


def planned() -> tuple[list[PublishedPost], object]:
    plan = propose_week(TAG_SCORES, TAG_POSTS, typical_week(), parse_rules(RULES_TEXT), START,
                        rng=np.random.default_rng(0), posts=5)
    s = plan.slots
    posts = [
        PublishedPost(1, s[0].at + timedelta(hours=1), (s[0].tag.upper(),), 30.0),  # followed (tag case differs)
        PublishedPost(2, s[1].at - timedelta(minutes=20), ("misc", s[1].tag), 35.0),  # followed
        PublishedPost(3, s[2].at + timedelta(hours=5), (s[2].tag,), 12.0),  # too late: not the plan's post
        PublishedPost(4, s[3].at, ("something-else",), 9.0),  # right time, wrong topic
        PublishedPost(5, s[4].at + timedelta(hours=2, minutes=30), (s[4].tag,), 40.0),  # followed
        PublishedPost(6, plan.start - timedelta(days=3), (s[0].tag,), 50.0),  # the week before: ignored
    ]
    return posts, plan


def test_a_followed_plan_is_recognised_by_tag_and_time() -> None:
    posts, plan = planned()
    report = followed(plan, posts)  # type: ignore[arg-type]
    assert [(slot.tag, post.id) for slot, post in report.matched] == [
        (plan.slots[0].tag, 1), (plan.slots[1].tag, 2), (plan.slots[4].tag, 5)]  # type: ignore[attr-defined]
    assert report.missed == [plan.slots[2], plan.slots[3]]  # type: ignore[attr-defined]
    assert sorted(p.id for p in report.off_plan) == [3, 4]  # type: ignore[type-var]
    assert report.share_followed == pytest.approx(0.6)
    narrow = followed(plan, posts, tolerance=timedelta(minutes=30))  # type: ignore[arg-type]
    assert [post.id for _, post in narrow.matched] == [2]


def test_a_followed_plan_is_scored_against_the_usual_posts() -> None:
    posts, plan = planned()
    report = followed(plan, posts)  # type: ignore[arg-type]
    usual = [20.0, 22.0, 18.0, 25.0, 21.0, 19.0, 23.0, 20.0, 17.0, 24.0]
    result = score(report, usual)
    assert result.enough_data and result.n == 3
    assert result.mean == pytest.approx(35.0) and result.usual == pytest.approx(20.9)
    assert result.ratio == pytest.approx(35.0 / 20.9)
    assert result.ci_low is not None and result.ci_high is not None and 1.0 < result.ci_low < result.ratio < result.ci_high
    assert result.verdict == "better"

    unclear = score([18.0, 30.0, 15.0, 24.0], usual)
    assert unclear.verdict == "unclear"
    assert unclear.ci_low is not None and unclear.ci_low < 1 < unclear.ci_high  # type: ignore[operator]

    few = score([30.0], usual)
    assert not few.enough_data and few.ci_low is None
    assert few.verdict == "too_few"
