"""Comment sentiment through the real bot: labels stored, one surge alert, corrections."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

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


async def test_dms_are_classified_too(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, "I love your photos")
        await bot.settle()
        await wait_for(lambda: _dm_label(bot) is not None, 5, "the DM label")
        assert _dm_label(bot) == "positive"


def _alerts(bot: object) -> list[SentimentAlert]:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(SentimentAlert)))


def _unclassified(bot: object) -> int:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return len(s.scalars(select(Comment).where(Comment.sentiment.is_(None))).all())


def _dm_label(bot: object) -> str | None:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return s.scalars(select(DirectMessage.sentiment).where(DirectMessage.direction == "in")).first()
