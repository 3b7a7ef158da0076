"""Recognising a question among comments, English and Chinese."""

from __future__ import annotations

import pytest

from nlp.questions import is_question

QUESTIONS = [
    "When is the next video coming out?",
    "is this lens worth it",
    "Do you ship to Canada",
    "how do I join the meetup",
    "What's the name of that song",
    "Can someone explain the ending",
    "@anna where to buy this jacket",
    "Great video! Which camera did you use",
    "anyone know the price of the course",
    "I wonder if the workshop will be recorded",
    "Any tips for a beginner",
    "how much was the ticket",
    "Will there be a part 2",
    "Hey, are you coming to Berlin this year",
    "这个多少钱",
    "什么时候发货",
    "你们怎么报名",
    "能便宜点吗",
    "为什么涨价了",
    "下一期是哪天",
    "几点开始直播",
    "有没有中文字幕",
    "这个镜头值得买吗？",
    "真的假的?",
    "你呢",
]

NOT_QUESTIONS = [
    "Great video, thanks!",
    "When I saw this I cried.",
    "What a beautiful place!",
    "How cool is that!",
    "I love the new intro",
    "Can't wait for the next one",
    "Is so good",
    "Check https://example.com/faq?id=3 for details",
    "what I love most is the music",
    "太贵了",
    "我今天什么都不想做",
    "这几天很忙",
    "几乎每天都看",
    "好吧",
    "支持一下",
    "我也不知道为什么",
    "",
    "👍👍",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_recognised(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize("text", NOT_QUESTIONS)
def test_other_comments_are_not_questions(text: str) -> None:
    assert not is_question(text)
