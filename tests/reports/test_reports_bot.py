"""Scheduled reports arrive as a photo with a caption; /forgetme leaves none of a follower's text."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, select, text, update

from bot import texts
from bot.store.models import Reminder, utcnow
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


async def test_scheduled_report_fires_as_a_photo(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, db_url, tmp_path, schedule={"report": "daily", "report_time": "09:00"})
    async with running_bot(settings, sandbox) as bot:
        await wait_for(lambda: _report_reminder(bot) is not None, 5, "the report schedule")
        row = _report_reminder(bot)
        assert row is not None and row.recurrence == "daily"
        local = row.due_at.astimezone(settings.tz)
        assert (local.hour, local.minute) == (9, 0) and row.due_at > utcnow()
        with bot.sessions() as s, s.begin():  # its time comes
            s.execute(update(Reminder).where(Reminder.id == row.id).values(due_at=utcnow() - timedelta(seconds=1)))
        await wait_for(lambda: bool(sandbox.calls_of("sendPhoto")), 30, "the scheduled report")
        await bot.settle()
        photo = sandbox.calls_of("sendPhoto")[0]
        assert photo.files["photo"][:4] == b"\x89PNG"
        assert photo.params["caption"].startswith("📊 day report")
        assert any(t.startswith("📊 Day report") for t in bot.replies_to(CREATOR_ID))
        assert _report_reminder(bot).due_at > utcnow()  # type: ignore[union-attr]  # the next one is scheduled


def _report_reminder(bot: object) -> Reminder | None:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return s.scalars(select(Reminder).where(Reminder.kind == "report", Reminder.status == "active")).first()


async def test_forgetme_leaves_none_of_their_text(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    marker = "Zanzibar-7731"
    ana = sandbox.user(101, "Ana")
    maya = sandbox.user(CREATOR_ID, "Maya")
    ben = sandbox.user(102, "Ben")
    async with running_bot(settings_for(sandbox, db_url, tmp_path), sandbox) as bot:
        _, forward = sandbox.channel_post("Trip report #travel")
        sandbox.comment(forward, ana, f"I was in {marker} too, awful weather")
        sandbox.comment(forward, ben, "Lovely")
        sandbox.send_private(ana, f"Can you recommend a hotel in {marker}?")
        await bot.settle()
        note = sandbox.sent[CREATOR_ID][-1]
        sandbox.send_private(maya, "Try the harbour inn", reply_to=note)
        await bot.settle()
        await wait_for(lambda: _count_text(bot, marker) > 0, 5, "the follower's text to be stored")
        sandbox.send_private(ana, "/forgetme")
        await bot.settle()
        assert bot.replies_to(101)[-1] == texts.FORGETME_DONE
        assert _count_text(bot, marker) == 0
        assert _count_text(bot, "Lovely") > 0  # other followers are untouched
        with bot.sessions() as s:
            assert s.execute(text("select count(*) from comments")).scalar() == 2  # counts stay, anonymised


def _count_text(bot: object, needle: str) -> int:
    """How many stored values (any text or JSON column of any table) contain `needle`."""
    hits = 0
    with bot.sessions() as s:  # type: ignore[attr-defined]
        for table in inspect(s.get_bind()).get_table_names():
            for row in s.execute(text(f"select * from {table}")):
                for value in row:
                    blob = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
                    hits += needle in blob
    return hits
