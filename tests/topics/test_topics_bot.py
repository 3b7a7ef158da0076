"""/suggest, /besttime, /abtest and reminders through the real bot."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot import texts
from bot.store.models import DEFAULT_CREATOR_ID, Reminder, utcnow
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


async def test_reminder_survives_a_restart_and_arrives_once(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, db_url, tmp_path)
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(maya, "/remind in 5m post the <sunrise> set")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("⏰ Reminder set for")
    # the bot is down while the reminder falls due
    from bot.store.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as s, s.begin():
        s.execute(update(Reminder).where(Reminder.kind == "manual").values(due_at=utcnow() - timedelta(minutes=2)))
    async with running_bot(settings, sandbox) as bot:
        await wait_for(lambda: any(t.startswith("⏰ Reminder: post the <sunrise> set") for t in bot.replies_to(CREATOR_ID)),
                       10, "the late reminder")
        await asyncio.sleep(0.5)
        await bot.settle()
    async with running_bot(settings, sandbox) as bot:  # and once more: still not sent twice
        await asyncio.sleep(1.0)
        await bot.settle()
    sent = [t for t in sandbox.texts_to(CREATOR_ID) if t.startswith("⏰ Reminder: ")]
    assert sent == ["⏰ Reminder: post the <sunrise> set"]
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as s:
        row = s.scalars(select(Reminder).where(Reminder.kind == "manual")).one()
        assert row.status == "done" and row.sent_count == 1
    engine.dispose()


async def test_reminders_past_the_grace_period_are_skipped(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, schedule={"reminder_grace_minutes": 30})
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(maya, "/remind daily 18:00 stories")
        await bot.settle()
        with bot.sessions() as s, s.begin():
            s.execute(update(Reminder).where(Reminder.kind == "manual").values(due_at=utcnow() - timedelta(hours=3)))
        await wait_for(lambda: _reminder(bot).missed_count == 1, 30, "the job to skip the stale reminder")
        row = _reminder(bot)
        assert row.status == "active" and row.due_at > utcnow() and row.sent_count == 0
        assert not [t for t in bot.replies_to(CREATOR_ID) if t.startswith("⏰ Reminder: ")]
        sandbox.send_private(maya, "/reminders")
        await bot.settle()
        listing = sandbox.sent[CREATOR_ID][-1]
        assert "stories" in listing["text"] and "(daily)" in listing["text"]
        sandbox.press(maya, listing, listing["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        await bot.settle()
        assert _reminder(bot).status == "cancelled"


def _reminder(bot: object) -> Reminder:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return s.scalars(select(Reminder).where(Reminder.kind == "manual")).one()


async def test_bad_remind_gets_usage(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(maya, "/remind someday maybe")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("I couldn't read that reminder: “someday”")


async def test_suggest_besttime_and_abtest(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    fans = [sandbox.user(200 + i, f"Fan{i}") for i in range(6)]
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(maya, "/suggest")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.SUGGEST_MISSING["posts"]
        for i in range(4):
            _, fwd = sandbox.channel_post(f"Hike {i} #hiking")
            for fan in fans:
                sandbox.comment(fwd, fan, "wow")
            _, fwd = sandbox.channel_post(f"Gear {i} #gear")
            sandbox.comment(fwd, fans[0], "nice")
        _, fwd = sandbox.channel_post("My first drone flight #drone")
        sandbox.comment(fwd, fans[1], "cool")
        await bot.settle()
        for command in ("/suggest", "/besttime", "/abtest #hiking #gear", "/abtest #hiking #drone"):
            sandbox.send_private(maya, command)
            await bot.settle()
        suggest, besttime, ab_strong, ab_thin = bot.replies_to(CREATOR_ID)[-4:]
        assert suggest.index("#hiking") < suggest.index("#gear")
        assert "Experiment: #drone: only 1 post" in suggest
        assert besttime.startswith("Best times to post") and besttime.count("•") == 3
        assert "#hiking does better than #gear" in ab_strong
        assert "Not enough data yet" in ab_thin
