"""Question themes on planted data, with the hashing fake encoders (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.themes import ACTIONS, Asked, compare, find_themes, keywords, terms
from tests.fakes import HashingEncoder

FAKE_CUT = 0.8  # the hashing fake's scale: planted themes sit within 0.75 of each other, apart from the rest

SHIPPING = ["how long does shipping take", "is shipping free", "shipping to canada how long",
            "what does shipping cost", "shipping cost to europe?"]
COURSE = ["when does the photo course start", "is the photo course for beginners", "how much is the photo course"]
CAMERA = ["which camera do you use", "what camera settings for night shots", "best camera for vlogging",
          "camera or phone for travel videos", "is your camera waterproof"]
SINGLES = ["do you like cats", "where did you grow up", "favourite pizza topping?"]
TWO_ASKERS = ["grandma recipe for soup", "soup recipe please", "the soup recipe again?"]

ZH_COURSE = ["怎么报名摄影课", "摄影课多少钱", "摄影课适合新手吗", "摄影课什么时候开始"]
ZH_SHIPPING = ["什么时候发货", "发货要几天", "发货到上海多久"]
ZH_CAMERA = ["用的什么相机", "这个相机防水吗", "相机镜头推荐一下", "相机多少钱", "新手买哪个相机"]


def planted_english() -> list[Asked]:
    qs: list[Asked] = []
    # shipping: 5 questions from 4 followers (follower 1 asks twice)
    for i, (text, asker) in enumerate(zip(SHIPPING, [1, 2, 3, 4, 1], strict=True)):
        qs.append(Asked(text, asker, id=f"s{i}", handed_off=True))
    # course: 3 followers, all answered by the FAQ
    for i, text in enumerate(COURSE):
        qs.append(Asked(text, 10 + i, id=f"c{i}", faq_entry="course"))
    # camera: 5 followers, 4 of 5 answered by the FAQ
    for i, text in enumerate(CAMERA):
        qs.append(Asked(text, 20 + i, id=f"k{i}", faq_entry="gear" if i else None, handed_off=not i))
    qs += [Asked(text, 30 + i, id=f"x{i}") for i, text in enumerate(SINGLES)]
    qs += [Asked(text, 40 + i % 2, id=f"r{i}") for i, text in enumerate(TWO_ASKERS)]  # 3 questions, 2 followers
    return qs


def by_keyword(themes: list) -> dict[str, object]:
    return {t.keyword: t for t in themes}


def test_three_planted_english_themes_with_their_follower_counts() -> None:
    qs = planted_english()
    themes = find_themes(qs, HashingEncoder(), threshold=FAKE_CUT)
    assert [(t.keyword, t.askers, t.questions) for t in themes] == [
        ("camera", 5, 5), ("shipping", 4, 5), ("course", 3, 3)]
    members = {frozenset(qs[i].text for i in t.members) for t in themes}
    assert members == {frozenset(SHIPPING), frozenset(COURSE), frozenset(CAMERA)}


def test_a_theme_is_labelled_by_its_most_central_question_and_gives_examples() -> None:
    qs = planted_english()
    themes = find_themes(qs, HashingEncoder(), threshold=FAKE_CUT, max_examples=2)
    for theme in themes:
        assert theme.label == qs[theme.members[0]].text
        assert len(theme.example_ids) == 2
        assert theme.example_ids[0] == qs[theme.members[0]].id
    shipping = by_keyword(themes)["shipping"]
    assert set(shipping.asker_ids) == {1, 2, 3, 4}  # type: ignore[attr-defined]


def test_faq_share_handoffs_and_the_suggested_action() -> None:
    themes = by_keyword(find_themes(planted_english(), HashingEncoder(), threshold=FAKE_CUT))
    shipping, course, camera = themes["shipping"], themes["course"], themes["camera"]
    assert (shipping.faq_share, shipping.handed_off_share, shipping.faq_entry) == (0.0, 1.0, None)  # type: ignore[attr-defined]
    assert shipping.action == "add_faq"  # type: ignore[attr-defined]
    assert (course.faq_share, course.faq_entry, course.action) == (1.0, "course", "post")  # type: ignore[attr-defined]
    assert camera.faq_share == pytest.approx(0.8) and camera.handed_off_share == pytest.approx(0.2)  # type: ignore[attr-defined]
    assert ACTIONS[camera.action] == "make a post about it"  # type: ignore[attr-defined]


def test_a_theme_needs_enough_distinct_followers() -> None:
    qs = planted_english()
    soup = [i for i, q in enumerate(qs) if "soup" in q.text]
    assert not any(set(t.members) & set(soup) for t in find_themes(qs, HashingEncoder(), threshold=FAKE_CUT))
    with_two = find_themes(qs, HashingEncoder(), threshold=FAKE_CUT, min_askers=2)
    assert "recipe" in by_keyword(with_two)  # 'recipe' and 'soup' tie: alphabetical
    with pytest.raises(ValueError, match="min_askers"):
        find_themes(qs, HashingEncoder(), min_askers=0)


def test_three_planted_chinese_themes_go_to_the_multilingual_encoder() -> None:
    english, multilingual = HashingEncoder(), HashingEncoder(multilingual=True)
    qs = [Asked(t, f"zc{i}") for i, t in enumerate(ZH_COURSE)]
    qs += [Asked(t, f"zs{i}") for i, t in enumerate(ZH_SHIPPING)]
    qs += [Asked(t, f"zk{i}") for i, t in enumerate(ZH_CAMERA)]
    qs += [Asked(t, f"e{i}") for i, t in enumerate(SHIPPING)]
    themes = find_themes(qs, english, threshold=FAKE_CUT, multilingual=lambda: multilingual,
                         multilingual_threshold=FAKE_CUT)
    got = {(t.keyword, t.askers, t.encoder) for t in themes}
    assert got == {("相机", 5, "multilingual-e5-small"), ("摄影课", 4, "multilingual-e5-small"),
                   ("发货", 3, "multilingual-e5-small"), ("shipping", 5, "hashing-fake")}
    assert english.calls == 1 and multilingual.calls == 1  # each language encoded once, by its own model


def test_the_multilingual_encoder_is_not_loaded_without_foreign_text() -> None:
    def never() -> HashingEncoder:
        raise AssertionError("loaded")

    assert find_themes(planted_english(), HashingEncoder(), threshold=FAKE_CUT, multilingual=never)


def test_no_questions_no_themes_and_one_question_is_no_theme() -> None:
    assert find_themes([], HashingEncoder()) == []
    assert find_themes([Asked("is shipping free", 1)], HashingEncoder()) == []
    assert len(find_themes([Asked("is shipping free", 1)], HashingEncoder(), min_askers=1)) == 1


def test_keywords_are_distinctive_words_or_chinese_bigrams() -> None:
    assert terms("The prices are too high!") == {"price": "prices", "high": "high"}
    assert "价格" in terms("价格太贵了") and "贵了" not in terms("价格太贵了")
    assert keywords([["摄影课多少钱", "怎么报名摄影课", "摄影课适合新手吗"]]) == ["摄影课"]
    groups = [["the price is too high", "price doubled again", "prices went up, the price is a joke"],
              ["the audio is too quiet", "audio quality dropped"]]
    assert keywords(groups) == ["price", "audio"]
    # a word in every text of the period is not distinctive: 'video' loses to 'subtitles'
    assert keywords([["video subtitles please", "subtitles for the video"]],
                    background=["nice video", "video was long", "video again"]) == ["subtitles"]
    assert keywords([["!!!", "??"]]) == [""]


def test_compare_pairs_themes_across_periods() -> None:
    enc = HashingEncoder()
    before = find_themes(planted_english(), enc, threshold=FAKE_CUT)
    now_qs = [Asked(t, i) for i, t in enumerate([*SHIPPING, "shipping to japan", "free shipping over 50?",
                                                            "shipping to mexico"])]
    now_qs += [Asked(t, 100 + i) for i, t in enumerate(CAMERA[:3])]
    now_qs += [Asked(t, 200 + i) for i, t in enumerate(["refund for the workshop", "workshop refund policy",
                                                        "can i get a workshop refund"])]
    now = find_themes(now_qs, enc, threshold=FAKE_CUT)
    changes = {(c.theme or c.previous).keyword: c for c in compare(before, now, min_similarity=0.5)}  # type: ignore[union-attr]
    assert (changes["shipping"].status, changes["shipping"].askers_before, changes["shipping"].askers_now) == (
        "up", 4, 8)
    assert changes["shipping"].change == 4
    assert (changes["camera"].status, changes["camera"].change) == ("down", -2)
    assert changes["refund"].status == "new" and changes["refund"].previous is None
    assert changes["course"].status == "gone" and changes["course"].theme is None
    assert [c.status for c in compare(before, before)] == ["same"] * 3


def test_compare_never_pairs_themes_from_different_encoders() -> None:
    theme = find_themes([Asked(t, i) for i, t in enumerate(SHIPPING)], HashingEncoder(), threshold=FAKE_CUT)[0]
    other = type(theme)(**{**theme.__dict__, "encoder": "multilingual-e5-small",
                           "centroid": np.array(theme.centroid)})
    assert [c.status for c in compare([theme], [other])] == ["new", "gone"]
