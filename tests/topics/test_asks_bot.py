"""What the audience is asking (/asks, /suggest, the weekly report, "add an FAQ answer") through the real bot."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.store.models import AskSnapshot, FaqExample, utcnow
from bot.topics import themes
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

# the hashing fake's scale (tests/nlp/test_themes.py): planted themes sit within 0.8 of each other
FAKE_CUTS = {"theme_threshold": 0.8, "theme_threshold_multilingual": 0.8}

SHIPPING = ["how long does shipping take?", "is shipping free?", "shipping to canada how long?",
            "what does shipping cost?"]  # DMs: handed off to the creator (no FAQ yet)
CAMERA = ["which camera do you use?", "what camera settings for night shots?", "best camera for vlogging?",
          "camera or phone for travel videos?", "is your camera waterproof?"]  # comments that are questions
COURSE = ["when does the photo course start?", "is the photo course for beginners?",
          "how much is the photo course?"]
ZH_COURSE = ["怎么报名摄影课", "摄影课多少钱", "摄影课适合新手吗", "摄影课什么时候开始"]
ZH_SHIPPING = ["什么时候发货", "发货要几天", "发货到上海多久"]
ZH_CAMERA = ["用的什么相机", "这个相机防水吗", "相机镜头推荐哪个", "相机多少钱", "新手买哪个相机"]


def theme_counts(text: str, groups: dict[str, list[str]]) -> dict[str, int]:
    """{planted group: followers} from the /asks message (each theme's label is one of its questions)."""
    out = {}
    for label, askers in re.findall(r"\d+\. “(.+?)” — (\d+) followers asked", text):
        group = next(name for name, qs in groups.items() if label in qs)
        out[group] = int(askers)
    return out


async def ask_and_wait(sandbox: BotApiSandbox, bot: Harness, creator: dict[str, Any]) -> dict[str, Any]:
    before = len(sandbox.sent.get(CREATOR_ID, []))
    sandbox.send_private(creator, "/asks")
    await wait_for(lambda: any("What your audience is asking" in m.get("text", "") for m in sandbox.sent.get(CREATOR_ID, [])[before:]), 20, "the /asks reply")
    return next(m for m in sandbox.sent[CREATOR_ID][before:] if "What your audience is asking" in m.get("text", ""))


async def test_planted_english_themes_with_follower_counts_change_and_one_tap_faq(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, recsys=FAKE_CUTS)
    async with running_bot(settings, sandbox) as bot:
        _, travel = sandbox.channel_post("Tre Cime at dawn #travel")
        _, gear = sandbox.channel_post("My camera bag #gear")
        ten_days_ago = int(time.time()) - 10 * 86400
        for i, text in enumerate(COURSE):  # the week before: the same course questions from 3 followers
            sandbox.comment(travel, sandbox.user(700 + i, f"Old{i}"), text, date=ten_days_ago)
        for i, text in enumerate(SHIPPING):
            sandbox.send_private(sandbox.user(200 + i, f"Ship{i}"), text)
        for i, text in enumerate(CAMERA):
            sandbox.comment(gear, sandbox.user(300 + i, f"Cam{i}"), text)
        for i, text in enumerate(COURSE):
            sandbox.comment(travel, sandbox.user(400 + i, f"Course{i}"), text)
        # not questions: never counted (else the camera theme would have six followers)
        sandbox.comment(gear, sandbox.user(390, "Fan"), "Love this camera, great shot")
        sandbox.comment(gear, sandbox.user(391, "Fan2"), "My camera is waterproof too")
        await bot.settle()

        with bot.sessions() as s:  # which comments count as questions
            gathered = themes.gather(s, settings, utcnow() - themes.PERIOD, utcnow())
            texts = {q.text for q in gathered}
            assert "which camera do you use?" in texts and "Love this camera, great shot" not in texts
            assert "My camera is waterproof too" not in texts
            assert len(gathered) == len(SHIPPING) + len(CAMERA) + len(COURSE)

        reply = await ask_and_wait(sandbox, bot, maya)
        text = reply["text"]
        assert theme_counts(text, {"camera": CAMERA, "shipping": SHIPPING, "course": COURSE}) == {
            "camera": 5, "shipping": 4, "course": 3}
        course_line = next(line for line in text.splitlines() if "photo course" in line and "followers" in line)
        assert "about as many as the week before (3)" in course_line
        assert "new this week" in next(line for line in text.splitlines() if "shipping" in line and "followers" in line)
        assert "100 % was handed off to you" in text  # the shipping DMs were passed on
        # the shipping theme has no FAQ answer: a button starts /faq add with its questions
        keyboard = reply["reply_markup"]["inline_keyboard"]
        shipping_button = next(b for row in keyboard for b in row if "shipping" in b["text"])
        sandbox.press(maya, reply, shipping_button["callback_data"])
        await bot.settle()
        prompt = bot.replies_to(CREATOR_ID)[-1]
        assert prompt.startswith("New FAQ entry for the question theme") and "is shipping free?" in prompt
        sandbox.send_private(maya, "Shipping is free in the EU and takes 3–5 days.")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✅ Saved as entry")
        with bot.sessions() as s:
            learned = set(s.scalars(select(FaqExample.question)))
            assert set(SHIPPING) <= learned

        # /suggest takes the themes as ideas; the weekly report has the section (from the stored snapshot)
        sandbox.send_private(maya, "/suggest")
        await bot.settle()
        suggest = bot.replies_to(CREATOR_ID)[-1]
        assert "Ideas from your followers' questions" in suggest and "5 followers asked" in suggest
        sandbox.send_private(maya, "/report week")
        await bot.settle()
        report = bot.replies_to(CREATOR_ID)[-1]
        assert "What your audience is asking" in report
        assert theme_counts(report, {"camera": CAMERA, "shipping": SHIPPING, "course": COURSE})["camera"] == 5


async def test_planted_chinese_themes_with_the_multilingual_fake(sandbox: BotApiSandbox, sqlite_url: str,
                                                                 tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, recsys=FAKE_CUTS)
    async with running_bot(settings, sandbox) as bot:
        _, post = sandbox.channel_post("新的一周 #travel")
        for i, text in enumerate(ZH_COURSE):
            sandbox.send_private(sandbox.user(200 + i, f"课{i}", language_code="zh"), text)
        for i, text in enumerate(ZH_SHIPPING):  # comments: questions by their question words
            sandbox.comment(post, sandbox.user(300 + i, f"货{i}", language_code="zh"), text)
        for i, text in enumerate(ZH_CAMERA):
            sandbox.comment(post, sandbox.user(400 + i, f"机{i}", language_code="zh"), text)
        sandbox.comment(post, sandbox.user(499, "粉丝", language_code="zh"), "相机拍得真好看")  # not a question
        await bot.settle()
        reply = await ask_and_wait(sandbox, bot, maya)
        assert theme_counts(reply["text"], {"course": ZH_COURSE, "shipping": ZH_SHIPPING, "camera": ZH_CAMERA}) == {
            "camera": 5, "course": 4, "shipping": 3}
        with bot.sessions() as s:
            assert s.scalars(select(AskSnapshot)).first() is not None
