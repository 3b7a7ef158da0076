"""The demo's eight weeks of history, recorded by the real bot: the planted rhythm and topics are found."""

from __future__ import annotations

import re
from pathlib import Path

from bot.demo.history import PLANTED_SLOT, TIMEZONE, play_history, store_follower_counts
from bot.store.models import utcnow
from botapi_sandbox.server import BotApiSandbox
from recsys.timing import DAY_NAMES
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


async def test_the_history_shows_its_planted_slot_topic_and_followers(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, schedule={"timezone": TIMEZONE})
    history = play_history(sandbox, utcnow())  # queued before the bot starts, as a backlog it catches up on
    async with running_bot(settings, sandbox) as bot:
        await bot.settle(timeout=240)
        with bot.sessions() as s, s.begin():
            store_follower_counts(s, settings.channel.id, history)
        for command in ("/besttime", "/suggest", "/report month", "/abtest travel gear"):
            sandbox.send_private(maya, command)
            await bot.settle()
        replies = bot.replies_to(CREATOR_ID)

    def reply(start: str) -> str:
        return next(t for t in reversed(replies) if t.startswith(start))

    besttime, suggest = reply("Best times to post"), reply("What to post next")
    report, abtest = reply("📊 Month report"), reply("A/B: #travel vs #gear")

    # /besttime: the first slot is the planted one, in the creator's time zone
    day, hour = PLANTED_SLOT
    first = besttime.splitlines()[1]
    assert first.startswith(f"• {DAY_NAMES[day]} ") and f" {hour:02d}:00 " in first, besttime
    assert TIMEZONE in besttime.splitlines()[0]
    assert f"as in /besttime): {DAY_NAMES[day]} {hour:02d}:00" in report  # the report says the same
    # /suggest: #travel (planted best) ranks above #gear (planted worst)
    assert suggest.index("#travel:") < suggest.index("#gear:") if "#gear:" in suggest else "#travel:" in suggest
    assert suggest.splitlines()[1].startswith("1. #travel:"), suggest
    # one definition of interactions per post: /suggest and the month report show the same figure
    said = re.search(r"#travel: ([\d.]+) interactions per post", suggest)
    reported = re.search(r"#travel ([\d.]+)", report)
    assert said and reported and said.group(1) == reported.group(1), (suggest, report)
    # the report knows the follower count (the history's daily counts plus the sandbox's live count)
    assert re.search(r"Followers: [\d,]+", report) and "Engagement rate" in report
    assert "Followers: —" not in report and "Engagement rate (per post per 100 followers): —" not in report
    assert history.joins > history.leaves > 0 and history.posts >= 7 * 8
    assert "#travel does better than #gear" in abtest, abtest


async def test_the_history_plants_question_themes_a_price_complaint_and_last_weeks_plan(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from bot.demo.history import PLAN_SLOTS, PRICE_COMPLAINTS, QUESTION_THEMES, store_last_plan
    from bot.kernel import asks
    from bot.topics import themes as grouping

    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, schedule={"timezone": TIMEZONE},
                            recsys={"theme_threshold": 0.8})
    history = play_history(sandbox, utcnow())
    assert history.questions == sum(len(a) + len(b) for a, b in QUESTION_THEMES.values()) + len(PRICE_COMPLAINTS)
    async with running_bot(settings, sandbox) as bot:
        await bot.settle(timeout=240)
        with bot.sessions() as s, s.begin():
            plan = store_last_plan(s, CREATOR_ID, utcnow())
            assert plan is not None and len(plan.slots) == PLAN_SLOTS
        with bot.sessions() as s:
            found = grouping.read_input(s, settings, utcnow())
        themes = grouping.compute(found, bot.runtime.services.models.encoder())  # type: ignore[union-attr]
        with bot.sessions() as s:
            members = [set(asks.question_texts(s, t.keys).values()) for t in themes.themes]
        for recent, _ in QUESTION_THEMES.values():  # each planted theme comes out whole, as one theme
            holding = [i for i, m in enumerate(members) if m & set(recent)]
            assert len(holding) == 1 and set(recent) <= members[holding[0]], (recent, members)
            assert themes.themes[holding[0]].askers >= len(recent)
        sandbox.send_private(maya, "/plan")
        await wait_for(lambda: any("Your plan for" in x for x in bot.replies_to(CREATOR_ID)), 30, "/plan")
        text = next(x for x in bot.replies_to(CREATOR_ID) if "Your plan for" in x)
        assert text.startswith("How your last plan did") and f"{PLAN_SLOTS - 1} of {PLAN_SLOTS} planned posts" in text
