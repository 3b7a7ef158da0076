"""/plan through the real bot: rules stored like other settings (bad ones named), a plan that keeps every rule,
and a followed plan recognised and scored by the next /plan."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.store.models import PostingPlan, SettingOverride
from bot.topics.plan import stored_plan
from botapi_sandbox.server import BotApiSandbox
from recsys.plan import MaxPerDay, MinTagPerWeek, NeverOn, parse_rules, violations
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

RULES = "never on Sundays; at most 1 post a day; at least one #business a week"


async def usual_posts(sandbox: BotApiSandbox, days_ago: float = 20.0) -> None:
    """Three posts on each of four tags, weeks ago, five reactions each (the channel's usual)."""
    now = time.time()
    for i, tag in enumerate(["travel", "photo", "editing", "food"] * 3):
        post, _ = sandbox.channel_post(f"Post {i} #{tag}", date=int(now - (days_ago + i * 0.7) * 86400))
        sandbox.reactions(post, {"👍": 5})
    for i in range(2):  # an under-tried tag and a rule's tag
        post, _ = sandbox.channel_post(f"Gear {i} #gear", date=int(now - (days_ago + 0.3 + i) * 86400))
        sandbox.reactions(post, {"👍": 4})
    post, _ = sandbox.channel_post("Pricing my prints #business", date=int(now - (days_ago + 2.5) * 86400))
    sandbox.reactions(post, {"👍": 6})


async def plan_reply(sandbox: BotApiSandbox, bot: Harness, maya: dict[str, Any]) -> str:
    before = len(sandbox.texts_to(CREATOR_ID))
    sandbox.send_private(maya, "/plan")
    await wait_for(lambda: any("Your plan for" in t for t in sandbox.texts_to(CREATOR_ID)[before:]), 20, "/plan")
    await bot.settle()
    return next(t for t in sandbox.texts_to(CREATOR_ID)[before:] if "Your plan for" in t)


async def test_rules_are_stored_bad_ones_named_and_the_plan_keeps_every_rule(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, schedule={"timezone": "Europe/Rome"})
    async with running_bot(settings, sandbox) as bot:
        await usual_posts(sandbox)
        await bot.settle()
        sandbox.send_private(maya, "/plan rules never on Fundays; at most 1 post a day")
        await bot.settle()
        bad = bot.replies_to(CREATOR_ID)[-1]
        assert bad.startswith("I didn't save the rules: rule not understood: 'never on Fundays'")
        assert "Accepted forms: never on Sundays" in bad
        assert bot.runtime.services.settings.recsys.plan_rules == ()
        sandbox.send_private(maya, f"/plan rules {RULES}")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✅ Plan rules saved: never on Sundays; at most 1 post a day")
        with bot.sessions() as s:
            stored = s.get(SettingOverride, "recsys.plan_rules")
            assert stored is not None and stored.value == [r.strip() for r in RULES.split(";")]

        text = await plan_reply(sandbox, bot, maya)
        assert "Your rules: never on Sundays; at most 1 post a day; at least one #business a week" in text
        assert "#gear: only 2 posts, try it once more" in text  # the uncertainty, said plainly
        assert "Uncertain (fewer than 3 posts so far" in text and "#gear" in text.split("Uncertain")[1]
        assert "explore under-tried topics" in text
        with bot.sessions() as s:
            row = s.scalars(select(PostingPlan)).one()
            plan = stored_plan(row, settings.tz)
        rules = parse_rules(RULES)
        assert [type(r) for r in rules] == [NeverOn, MaxPerDay, MinTagPerWeek]
        assert len(plan.slots) >= 5 and violations(plan.slots, rules) == []
        assert all(s.at.weekday() != 6 for s in plan.slots)  # never on Sundays (local)
        days = [s.at.date() for s in plan.slots]
        assert len(days) == len(set(days))  # at most one a day
        assert any(s.tag == "business" for s in plan.slots)
        assert plan.start.weekday() == 0 and plan.start > datetime.now(plan.start.tzinfo)  # next week


async def test_a_followed_plan_is_recognised_and_scored_by_the_next_plan(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, schedule={"timezone": "Europe/Rome"})
    async with running_bot(settings, sandbox) as bot:
        await usual_posts(sandbox, days_ago=22)
        await bot.settle()
        first = await plan_reply(sandbox, bot, maya)
        assert "How your last plan did" not in first  # nothing to look back on yet
        with bot.sessions() as s, s.begin():  # two weeks pass: the plan's week is over
            row = s.scalars(select(PostingPlan)).one()
            shift = timedelta(days=14)
            row.start, row.end = row.start - shift, row.end - shift
            row.slots = [{**slot, "at": (datetime.fromisoformat(slot["at"]) - shift).isoformat()}
                         for slot in row.slots]
            plan = stored_plan(row, settings.tz)
        for slot in plan.slots[:3]:  # three posts follow the plan (tag and time), and do well
            post, _ = sandbox.channel_post(f"As planned #{slot.tag}", date=int(slot.at.timestamp()) + 1200)
            sandbox.reactions(post, {"🔥": 30})
        off, _ = sandbox.channel_post("Off plan #travel", date=int((plan.start + timedelta(days=1)).timestamp()) + 7)
        sandbox.reactions(off, {"👍": 5})
        await bot.settle()

        second = await plan_reply(sandbox, bot, maya)
        lines = second.splitlines()
        assert lines[0].startswith("How your last plan did")
        assert f"3 of {len(plan.slots)} planned posts were published" in lines[0]
        assert "The plan's 3 posts got 30.0 interactions per post" in lines[0] and "better than usual" in lines[0]
        assert "95 % interval" in lines[0]
        with bot.sessions() as s:
            rows = list(s.scalars(select(PostingPlan).order_by(PostingPlan.id)))
            assert len(rows) == 2 and rows[0].result is not None and "better than usual" in rows[0].result


async def test_asks_and_plan_on_an_empty_database_answer_plainly(sandbox: BotApiSandbox, sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(maya, "/asks")
        await wait_for(lambda: any("no theme yet" in t for t in sandbox.texts_to(CREATOR_ID)), 20, "/asks")
        assert bot.replies_to(CREATOR_ID)[0] == "Grouping your followers' questions of the last 7 days…"
        text = await plan_reply(sandbox, bot, maya)
        assert "Nothing to plan yet" in text and "How your last plan did" not in text
        sandbox.send_private(maya, "/respond")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("There is no drafted reply waiting")
        assert not any(t.startswith("⚠️") for t in bot.replies_to(CREATOR_ID))
