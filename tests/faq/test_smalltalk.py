"""Which messages are small talk (answered in the creator's voice) and which are questions."""

from __future__ import annotations

import pytest

from bot.config import SmallTalkConfig
from bot.faq.smalltalk import classify, reply


@pytest.mark.parametrize(("text", "kind"), [
    ("hello?", "greeting"), ("Hey there!", "greeting"), ("good morning", "greeting"), ("Hi Maya", "greeting"),
    ("thx", "thanks"), ("Thanks so much!!", "thanks"), ("bye 👋", "goodbye"), ("Are you a bot?", "bot"),
    ("🙏🙏", "emoji"), ("...", "emoji"), ("ok", "ack"),
    ("您好！", "greeting"), ("非常感谢", "thanks"), ("拜拜", "goodbye"), ("你是真人吗?", "bot"), ("好的", "ack"),
])
def test_small_talk_is_recognised(text: str, kind: str) -> None:
    assert classify(text) == kind


@pytest.mark.parametrize("text", [
    "Hi, which tripod do you use?", "hello where do you travel next", "thanks, but where is the link?",
    "Which camera?", "你好，你用什么相机？", "bot or not, what lens is that", "",
])
def test_questions_are_not_small_talk(text: str) -> None:
    assert classify(text) is None


def test_replies_follow_the_language_and_the_config() -> None:
    config = SmallTalkConfig(greeting="Hey you!", greeting_zh="嗨！")
    assert reply("greeting", "hello", config) == "Hey you!"
    assert reply("greeting", "你好", config) == "嗨！"
    assert reply("emoji", "🔥", config) == config.emoji
