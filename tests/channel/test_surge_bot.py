"""A negative surge, explained, through the real bot: its themes, who wrote, a drafted reply that is never
posted until the creator presses Send (or Pin), and the follow-up on whether the mood recovered."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.store.models import SurgeResponse
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

PRICE = ["The new price is awful, way too expensive", "terrible price for a course like this",
         "I hate the new price", "this price is a scam", "worst price increase ever",
         "disappointed by the price, honestly"]
AUDIO = ["the audio is awful", "terrible audio in the videos"]


def surge_settings(sandbox: BotApiSandbox, url: str, tmp_path: Path, **extra: dict[str, Any]) -> Any:
    return settings_for(sandbox, url, tmp_path, sentiment={"min_comments": 6, "window_minutes": 30, **extra},
                        recsys={"theme_threshold": 0.8})


async def plant_surge(sandbox: BotApiSandbox, bot: Harness) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A post, two long-time followers (commented two months ago), then a burst of negative comments mostly
    about the price. Returns (the forward in the group, the alert, the drafted reply's message)."""
    _, old_post = sandbox.channel_post("Autumn in the Dolomites #travel")
    _, forward = sandbox.channel_post("My photo course: new price from today #business")
    fans = [sandbox.user(300 + i, f"Fan{i}") for i in range(len(PRICE) + len(AUDIO))]
    two_months_ago = int(time.time()) - 60 * 86400
    for fan in fans[:2]:
        sandbox.comment(old_post, fan, "Love these colours", date=two_months_ago)
    for fan, text in zip(fans, PRICE + AUDIO, strict=True):
        sandbox.comment(forward, fan, text)
    await bot.settle()
    await wait_for(lambda: any("drafted reply" in t for t in sandbox.texts_to(CREATOR_ID)), 20, "the surge alert")
    await bot.settle()
    alert = next(m for m in sandbox.sent[CREATOR_ID] if m.get("text", "").startswith("⚠️ Negative comments"))
    draft = next(m for m in sandbox.sent[CREATOR_ID] if "drafted reply" in m.get("text", ""))
    return forward, alert, draft


def posted_by_bot(sandbox: BotApiSandbox) -> list[str]:
    """What the bot sent to the channel and its discussion group."""
    return [m.get("text", "") for chat in (sandbox.channel["id"], sandbox.group["id"])
            for m in sandbox.sent.get(chat, [])]


def button(message: dict[str, Any], label: str) -> str:
    return next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row
                if label in b["text"])


async def test_a_price_surge_names_price_first_and_nothing_is_posted_without_send(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = surge_settings(sandbox, sqlite_url, tmp_path, follow_up_hours=0.003)
    async with running_bot(settings, sandbox) as bot:
        forward, alert, draft = await plant_surge(sandbox, bot)
        text = alert["text"]
        themes = [line for line in text.splitlines() if line.startswith("• ")]
        assert themes[0].startswith("• price: 6 comments from 6 followers, e.g. “")
        assert any(line.startswith("• audio: 2 comments") for line in themes)
        assert "Who: new followers (first seen in the last 30 days): 6; long-time followers: 2." in text
        assert "price" in draft["text"] and "nothing is posted until you press Send" in draft["text"]
        labels = [b["text"] for row in draft["reply_markup"]["inline_keyboard"] for b in row]
        assert labels == ["💬 Send as comment under the post", "📌 Pin as channel post", "✏️ Edit", "✖ Dismiss"]

        # the comments go on, the draft waits: nothing reaches the channel or its comments
        for i in range(6):
            sandbox.comment(forward, sandbox.user(400 + i, f"Calm{i}"), "Love the new lessons, thanks")
        await bot.settle()
        assert posted_by_bot(sandbox) == []
        send = button(draft, "Send")
        sandbox.press(maya, draft, button(draft, "Dismiss"))
        await bot.settle()
        assert posted_by_bot(sandbox) == []
        with bot.sessions() as s:
            response = s.scalars(select(SurgeResponse)).one()
            assert response.status == "dismissed" and response.outbox_id is None
        assert "reply_markup" not in draft  # the buttons are gone
        sandbox.press(maya, draft, send)  # an old button after Dismiss posts nothing
        await bot.settle()
        assert posted_by_bot(sandbox) == []

        # hours later (here: seconds), whether the mood recovered
        await wait_for(lambda: any(t.startswith("🌤 After the surge") for t in sandbox.texts_to(CREATOR_ID)), 30,
                       "the follow-up")
        follow_up = next(t for t in sandbox.texts_to(CREATOR_ID) if t.startswith("🌤 After the surge"))
        assert "The mood recovered: 0% of the 6 comments since were negative" in follow_up


async def test_edit_then_send_comments_under_the_post(sandbox: BotApiSandbox, sqlite_url: str,
                                                      tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(surge_settings(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        forward, _, draft = await plant_surge(sandbox, bot)
        sandbox.press(maya, draft, button(draft, "Edit"))
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("Copy the draft, change it and send it back")
        assert posted_by_bot(sandbox) == []
        mine = "You're right about the price <3: early students keep the old one."
        sandbox.send_private(maya, f"/respond {mine}")
        await bot.settle()
        again = sandbox.sent[CREATOR_ID][-1]
        assert mine in again["text"] and posted_by_bot(sandbox) == []
        pin = button(again, "Pin")
        sandbox.press(maya, again, button(again, "Send"))
        await bot.settle()
        sent = sandbox.sent[sandbox.group["id"]]
        assert [m["text"] for m in sent] == [mine]
        call = next(c for c in sandbox.calls_of("sendMessage") if c.params.get("chat_id") == sandbox.group["id"])
        reply_to = call.params["reply_parameters"]
        reply_to = json.loads(reply_to) if isinstance(reply_to, str) else reply_to
        assert reply_to["message_id"] == forward["message_id"]  # a comment under the post
        assert sandbox.channel["id"] not in sandbox.sent
        sandbox.press(maya, again, pin)  # decided already: nothing more goes out
        await bot.settle()
        assert len(posted_by_bot(sandbox)) == 1


async def test_pin_posts_in_the_channel_and_pins_it(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(surge_settings(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        _, _, draft = await plant_surge(sandbox, bot)
        sandbox.press(maya, draft, button(draft, "Pin"))
        await bot.settle()
        channel_id = sandbox.channel["id"]
        await wait_for(lambda: bool(sandbox.pinned.get(channel_id)), 20, "the pin")
        posted = sandbox.sent[channel_id]
        assert len(posted) == 1 and "price" in posted[0]["text"]
        assert sandbox.pinned[channel_id] == [posted[0]["message_id"]]
        with bot.sessions() as s:
            assert s.scalars(select(SurgeResponse)).one().status == "pinned"


@pytest.mark.slow
async def test_a_price_surge_with_the_real_encoder_names_price_first(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, minilm: Any) -> None:
    """The shipped MiniLM at its tuned cut (no threshold override), with the keyword sentiment fake."""
    sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, sentiment={"min_comments": 6, "window_minutes": 30})
    async with running_bot(settings, sandbox, encoder_factory=lambda name: minilm) as bot:
        _, forward = sandbox.channel_post("My photo course: new price from today #business")
        texts = ["This price is outrageous, I'm so disappointed", "Terrible decision, the price is way too high",
                 "I hate this new price, 199 is a joke", "The price is a rip-off, awful",
                 "Such a greedy price, I hate it", "The audio in the lessons is terrible",
                 "Awful audio quality in the videos"]
        for i, text in enumerate(texts):
            sandbox.comment(forward, sandbox.user(300 + i, f"Fan{i}"), text)
        await bot.settle()
        await wait_for(lambda: any("drafted reply" in t for t in sandbox.texts_to(CREATOR_ID)), 60, "the alert")
        alert = next(t for t in sandbox.texts_to(CREATOR_ID) if t.startswith("⚠️ Negative comments"))
        themes = [line for line in alert.splitlines() if line.startswith("• ")]
        assert themes[0].startswith("• price: "), alert
        assert posted_by_bot(sandbox) == []
