"""Comment sentiment through the real bot: labels stored, one surge alert, corrections."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.channel.sentiment import dms_due
from bot.config import SentimentConfig, Settings
from bot.store.db import migrated_sessions
from bot.store.models import Comment, DirectMessage, SentimentAlert, SentimentCorrection
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for


async def test_negative_burst_gives_exactly_one_alert(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    fans = [sandbox.user(300 + i, f"Fan{i}") for i in range(12)]
    settings = settings_for(sandbox, db_url, tmp_path, sentiment={"min_comments": 6, "window_minutes": 30})
    async with running_bot(settings, sandbox) as bot:
        _, calm = sandbox.channel_post("Morning light #travel")
        _, bad = sandbox.channel_post("Sponsored: my new course #business")
        sandbox.comment(calm, fans[0], "Beautiful, thanks!")
        sandbox.comment(calm, fans[1], "Where is this?")
        for i, fan in enumerate(fans[2:10]):
            sandbox.comment(bad, fan, f"This is a scam <b>#{i}</b> & awful")
        await bot.settle()
        await wait_for(lambda: bool(_alerts(bot)), 5, "the surge alert")
        for fan in fans[10:]:  # more negatives during the cool-down: no second alert
            sandbox.comment(bad, fan, "worst post ever")
        await bot.settle()
        await wait_for(lambda: _unclassified(bot) == 0, 5, "classification")
        await bot.settle()
        alerts = [m for m in sandbox.sent[CREATOR_ID] if m["text"].startswith("⚠️ Negative comments are surging")]
        assert len(alerts) == 1 and len(_alerts(bot)) == 1
        alert = alerts[0]
        assert "Sponsored: my new course" in alert["text"]
        assert "This is a scam <b>#0</b> & awful" in alert["text"]  # shown as text, not markup
        raw = next(c.params["text"] for c in sandbox.calls_of("sendMessage") if "surging" in c.params["text"])
        assert "&lt;b&gt;#0&lt;/b&gt; &amp; awful" in raw

        button = alert["reply_markup"]["inline_keyboard"][0][0]
        sandbox.press(maya, alert, button["callback_data"])
        await bot.settle()
        with bot.sessions() as s:
            correction = s.scalars(select(SentimentCorrection)).one()
            comment = s.get(Comment, correction.comment_id)
            assert correction.old_label == "negative" and correction.new_label == "neutral"
            assert comment is not None and comment.sentiment == "neutral" and comment.sentiment_source == "creator"
            labels = {c.text: c.sentiment for c in s.scalars(select(Comment))}
            assert labels["Beautiful, thanks!"] == "positive" and labels["Where is this?"] == "neutral"
            probs = s.scalars(select(Comment)).first()
            assert probs is not None and abs((probs.p_negative or 0) + (probs.p_neutral or 0) + (probs.p_positive or 0) - 1) < 1e-6

        sandbox.send_private(maya, "/sentiment")
        await bot.settle()
        mood = bot.replies_to(CREATOR_ID)[-1]
        assert mood.startswith("Comment mood") and "Sponsored: my new course" in mood


async def test_dms_are_classified_once_the_bot_is_quiet(sandbox: BotApiSandbox, sqlite_url: str,
                                                         tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    settings = settings_for(sandbox, sqlite_url, tmp_path, sentiment={"dm_quiet_seconds": 1.0})
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(ana, "I love your photos")
        await bot.settle()
        await wait_for(lambda: _dm_label(bot) is not None, 8, "the DM label")
        assert _dm_label(bot) == "positive"


async def test_dms_wait_while_the_bot_is_busy_and_comments_do_not(sandbox: BotApiSandbox, sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    ana, fan = sandbox.user(101, "Ana"), sandbox.user(301, "Fan")
    settings = settings_for(sandbox, sqlite_url, tmp_path,
                            sentiment={"dm_quiet_seconds": 3600.0, "dm_max_wait_minutes": 600.0})
    async with running_bot(settings, sandbox) as bot:
        _, post = sandbox.channel_post("Morning light #travel")
        sandbox.send_private(ana, "I love your photos")
        sandbox.comment(post, fan, "Beautiful, thanks!")
        await bot.settle()
        await wait_for(lambda: _unclassified(bot) == 0, 8, "the comment's label")
        await asyncio.sleep(1.5)  # a few more turns of the sentiment loop
        assert _dm_label(bot) is None


def test_waiting_dms_are_due_after_a_quiet_spell_or_the_longest_wait(sqlite_url: str) -> None:
    sessions = migrated_sessions(sqlite_url)
    settings = dataclasses.replace(Settings(), sentiment=SentimentConfig(dm_quiet_seconds=30, dm_max_wait_minutes=15))
    t0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with sessions() as session, session.begin():
        assert not dms_due(session, settings, t0)  # nothing waits
        for i, at in enumerate([t0, t0 + timedelta(minutes=10)]):
            session.add(DirectMessage(user_id=101, chat_id=101, message_id=i + 1, direction="in",
                                      content_type="text", text="hi", created_at=at, inbox="bot"))
        session.add(DirectMessage(user_id=101, chat_id=101, message_id=9, direction="out", content_type="text",
                                  text="answer", created_at=t0 + timedelta(minutes=12), inbox="bot"))
        session.flush()
        newest = t0 + timedelta(minutes=10)
        assert not dms_due(session, settings, newest + timedelta(seconds=20))  # a new one came 20 s ago
        assert dms_due(session, settings, newest + timedelta(seconds=30))  # quiet for 30 s
        busy = dataclasses.replace(settings, sentiment=SentimentConfig(dm_quiet_seconds=3600, dm_max_wait_minutes=15))
        assert not dms_due(session, busy, t0 + timedelta(minutes=14, seconds=59))
        assert dms_due(session, busy, t0 + timedelta(minutes=15))  # the oldest waited 15 minutes
        for dm in session.scalars(select(DirectMessage).where(DirectMessage.direction == "in")):
            dm.sentiment = "neutral"
        session.flush()
        assert not dms_due(session, settings, t0 + timedelta(days=1))  # every one has its label


def _alerts(bot: object) -> list[SentimentAlert]:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(SentimentAlert)))


def _unclassified(bot: object) -> int:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return len(s.scalars(select(Comment).where(Comment.sentiment.is_(None))).all())


def _dm_label(bot: object) -> str | None:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return s.scalars(select(DirectMessage.sentiment).where(DirectMessage.direction == "in")).first()
