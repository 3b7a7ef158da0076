"""A negative surge explained (themes, new vs long-time commenters), a drafted reply, mood recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nlp.surge import Comment, draft_response, mood_recovery, summarize_surge, wilson
from tests.fakes import HashingEncoder

FAKE_CUT = 0.8
AT = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)

PRICE = ["the price is way too high", "price doubled again, not ok", "this price is a scam",
         "who can afford this price", "price hike is awful"]
AUDIO = ["the audio is terrible", "audio keeps cutting out", "awful audio in the new video"]
OTHER = ["I hate the new intro", "worst thumbnail ever"]


def planted() -> list[Comment]:
    authors = ["ann", "bob", "cy", "dee", "ann", "eve", "fay", "gus", "hal", "ivy"]
    texts = PRICE + AUDIO + OTHER
    return [Comment(t, a, id=i) for i, (t, a) in enumerate(zip(texts, authors, strict=True))]


def first_seen() -> dict[str, datetime]:
    long_ago, lately = AT - timedelta(days=400), AT - timedelta(days=2)
    return {"ann": long_ago, "bob": long_ago, "cy": lately, "eve": long_ago, "fay": lately, "gus": long_ago}


def test_a_planted_price_surge_has_price_as_its_top_theme() -> None:
    summary = summarize_surge(planted(), HashingEncoder(), AT, first_seen(), threshold=FAKE_CUT,
                              background=["lovely video", "great audio as always", "thanks for the tips"])
    assert summary.top is not None
    assert (summary.top.keyword, summary.top.comments, summary.top.commenters) == ("price", 5, 4)
    assert summary.top.example in PRICE and summary.top.example_id == PRICE.index(summary.top.example)
    assert [(t.keyword, t.comments) for t in summary.themes] == [("price", 5), ("audio", 3)]
    assert summary.unthemed == 2 and summary.comments == 10 and summary.commenters == 9
    # new: cy and fay (seen 2 days ago), dee, hal and ivy (never seen); long-time: ann, bob, eve, gus
    assert (summary.new_commenters, summary.long_time_commenters) == (5, 4)
    assert summary.language == "en"


def test_the_drafted_reply_names_the_top_themes() -> None:
    summary = summarize_surge(planted(), HashingEncoder(), AT, first_seen(), threshold=FAKE_CUT)
    text = draft_response(summary)
    assert text.startswith("Thank you all for telling me what you think about price and audio.")
    assert "price" in draft_response(summary, max_topics=1) and "audio" not in draft_response(summary, max_topics=1)
    custom = {"en": {"text": "Re {topics}!", "fallback": "it", "and": " & ", "comma": ", "}}
    assert draft_response(summary, drafts=custom) == "Re price & audio!"
    with pytest.raises(ValueError, match="no draft wording for language 'fr'"):
        draft_response(summary, language="fr")
    empty = summarize_surge([Comment("meh", "x")], HashingEncoder(), AT, {})
    assert empty.themes == [] and "my latest post" in draft_response(empty)


def test_a_chinese_surge_is_themed_with_the_multilingual_encoder_and_answered_in_chinese() -> None:
    texts = ["价格太贵了", "又涨价格了，不想买了", "这个价格谁买得起", "画质越来越差", "画质太糊了"]
    comments = [Comment(t, f"u{i}") for i, t in enumerate(texts)]
    summary = summarize_surge(comments, HashingEncoder(), AT, {}, multilingual=HashingEncoder(multilingual=True),
                              multilingual_threshold=FAKE_CUT)
    assert [(t.keyword, t.comments) for t in summary.themes] == [("价格", 3), ("画质", 2)]
    assert summary.language == "zh" and summary.new_commenters == 5
    assert draft_response(summary).startswith("谢谢大家关于价格和画质的留言")


def test_mood_recovery_against_the_usual_share() -> None:
    calm = mood_recovery([True] + [False] * 11, usual_share=0.10)
    assert calm.recovered is True and calm.negative_share == pytest.approx(1 / 12)
    assert calm.summary == "The mood recovered: 8% of the 12 comments since were negative, against the usual 10%."
    stormy = mood_recovery([True] * 5 + [False] * 5, usual_share=0.10)
    assert stormy.recovered is False and stormy.summary.startswith("The mood has not recovered yet: 50%")
    assert stormy.ci_low < 0.5 < stormy.ci_high
    few = mood_recovery([True, False], usual_share=0.1)
    assert few.recovered is None and few.summary.startswith("Only 2 comments since")


def test_wilson_interval() -> None:
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
