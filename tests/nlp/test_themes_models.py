"""Planted question themes with the real encoders at the shipped thresholds (slow: loads MiniLM and converts e5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nlp.themes import Asked, find_themes

ENGLISH = {
    "shipping": ["When will my order be shipped?", "How long until my order ships?", "Has my order shipped yet?",
                 "When does my order ship out?"],
    "course": ["When does the photography course start?", "What is the start date of the photo course?",
               "When does the next photography course begin?"],
    "camera": ["Which camera do you use for your videos?", "What camera do you film with?",
               "What camera did you shoot this video with?", "Which camera is this filmed on?",
               "what camera are you using"],
}
ENGLISH_NOISE = ["Do you have a cat?", "What's your favourite city in Italy?", "Are you coming to the meetup in Berlin?"]
CHINESE = {
    "shipping": ["什么时候发货？", "下单后多久发货？", "我的订单什么时候能发货？", "请问几天内发货？"],
    "course": ["摄影课什么时候开课？", "下一期摄影课哪天开始？", "摄影课程几号开课？"],
    "camera": ["你用的是什么相机？", "这个视频是用什么相机拍的？", "你拍视频用哪款相机？", "你平时用什么相机拍照？",
               "请问你的相机是什么型号？"],
}
CHINESE_NOISE = ["你养猫吗？", "你最喜欢意大利的哪个城市？"]


def planted(groups: dict[str, list[str]], noise: list[str]) -> list[Asked]:
    qs = [Asked(text, f"{name}-{i}", id=name) for name, texts in groups.items() for i, text in enumerate(texts)]
    return qs + [Asked(text, f"noise-{i}", id="noise") for i, text in enumerate(noise)]


def check(themes: list[Any], qs: list[Asked], groups: dict[str, list[str]]) -> None:
    got = sorted((sorted({qs[i].id for i in t.members}), t.askers) for t in themes)
    assert got == sorted(([name], len(texts)) for name, texts in groups.items())


@pytest.fixture(scope="module")
def e5(converted: Path) -> Any:
    from nlp.encoder import TransformerEncoder

    return TransformerEncoder(converted, max_length=256, name="multilingual-e5-small", prefix="query: ")


@pytest.mark.slow
def test_three_planted_english_themes_with_minilm(minilm: Any) -> None:
    qs = planted(ENGLISH, ENGLISH_NOISE)
    check(find_themes(qs, minilm), qs, ENGLISH)


@pytest.mark.slow
def test_three_planted_chinese_themes_with_e5_next_to_english(minilm: Any, e5: Any) -> None:
    qs = planted(CHINESE, CHINESE_NOISE) + planted({"en-camera": ENGLISH["camera"]}, [])
    themes = find_themes(qs, minilm, multilingual=lambda: e5)
    check(themes, qs, {**CHINESE, "en-camera": ENGLISH["camera"]})
    by_encoder = {t.encoder for t in themes if qs[t.members[0]].id != "en-camera"}
    assert by_encoder == {"multilingual-e5-small"}
    assert {t.keyword for t in themes} >= {"相机", "camera"}
