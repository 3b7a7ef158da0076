"""The FAQ matcher with the fake encoder (fast) and with the real model (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.faq import LEXICAL_FILE, FaqMatcher, choose_threshold, traffic_weights
from nlp.faq_data import load_faq
from nlp.faq_rerank import N_PAIR
from tests.fakes import HashingEncoder

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"


def test_choose_threshold_reaches_the_target_precision() -> None:
    conf = np.array([0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=float)
    threshold, precision, coverage = choose_threshold(conf, correct, 0.95)
    assert threshold == 0.8 and precision == 1.0 and coverage == 0.5
    threshold, precision, _ = choose_threshold(conf, correct, 0.8)
    assert threshold == 0.6 and precision == pytest.approx(5 / 6)


@pytest.mark.parametrize("signals", ["basic", "lexical", "rerank"])
def test_fit_match_save_load(tmp_path: Path, signals: str) -> None:
    entries = load_faq(SAMPLE)
    matcher = FaqMatcher.fit(entries, HashingEncoder(), signals=signals)
    cal = matcher.calibration
    assert (matcher.lexical is not None) == (signals != "basic")
    assert (len(cal.rerank) == N_PAIR + 1) == (signals == "rerank")
    assert cal.source == "held-out" and cal.held_out >= 20 and 0 < cal.threshold < 1
    known, unrelated = matcher.match(["which tripod do you use for hiking?", "do you like pineapple pizza"])
    assert known.entry_id == "tripod" and not known.handoff and 0 < known.margin <= 1
    assert unrelated.handoff and unrelated.reason == "low confidence"
    matcher.save(tmp_path / "v1")
    assert (tmp_path / "v1" / LEXICAL_FILE).exists() == (signals != "basic")
    again = FaqMatcher.load(tmp_path / "v1", HashingEncoder())
    assert again.calibration == cal
    assert again.match(["which tripod do you use for hiking?"])[0].confidence == pytest.approx(known.confidence, rel=1e-3)


@pytest.mark.parametrize("signals", ["basic", "wide", "rerank"])
def test_a_question_marked_wrong_for_an_entry_is_handed_off(tmp_path: Path, signals: str) -> None:
    entries = load_faq(SAMPLE)
    wrong = "which tripod do you use for hiking?"
    plain = FaqMatcher.fit(entries, HashingEncoder(), signals=signals)
    assert not plain.match([wrong])[0].handoff
    matcher = FaqMatcher.fit(entries, HashingEncoder(), negatives=[("tripod", wrong), ("gone", "what tripod?")],
                             signals=signals)
    assert matcher.calibration == plain.calibration  # negatives change neither the head nor the calibration
    again = FaqMatcher.load(_saved(matcher, tmp_path / "v2"), HashingEncoder())
    for m in (matcher, again):
        marked, other, example = m.match([wrong, "what drone do you fly?", "Which tripod do you use?"])
        assert marked.handoff and marked.reason == "marked wrong before" and marked.entry_id == "tripod"
        assert not other.handoff and not example.handoff  # an example of the entry is closer than the negative


def test_a_version_saved_before_negatives_loads(tmp_path: Path) -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), HashingEncoder())
    path = _saved(matcher, tmp_path / "v1")
    data = dict(np.load(path / "head.npz"))
    del data["negatives"], data["negative_rows"]
    np.savez(path / "head.npz", **data)  # the files of a version trained before negatives existed
    old = FaqMatcher.load(path, HashingEncoder())
    assert old.negatives.shape == (0, old.examples.shape[1])
    assert not old.match(["which tripod do you use for hiking?"])[0].handoff


def _saved(matcher: FaqMatcher, path: Path) -> Path:
    matcher.save(path)
    return path


def test_unreadable_text_is_handed_off() -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), HashingEncoder())
    (m,) = matcher.match(["你用什么相机拍的？"])
    assert m.handoff and m.reason == "unreadable for this model"


@pytest.mark.slow
def test_real_model_answers_paraphrases(minilm: object) -> None:
    matcher = FaqMatcher.fit(load_faq(SAMPLE), minilm)  # type: ignore[arg-type]
    questions = ["what camera body are you shooting with", "is there a photo workshop coming up",
                 "where can I purchase one of your prints", "what's the weather like on Mars tonight"]
    got = matcher.match(questions)
    assert [m.entry_id for m in got[:3]] == ["camera", "workshop", "prints"]
    assert not any(m.handoff for m in got[:3])
    assert got[3].handoff


@pytest.mark.slow
def test_real_model_answers_every_question_the_creator_wrote_with_its_own_entry(minilm: object) -> None:
    """A follower who asks exactly what the FAQ lists is answered: the re-ranker's confidence never falls because a
    question is closer to an entry's examples than the held-out folds ever were (nlp/monotone.py)."""
    entries = load_faq(SAMPLE)
    matcher = FaqMatcher.fit(entries, minilm)  # type: ignore[arg-type]
    asked = [(e.id, q) for e in entries for q in e.questions]
    got = matcher.match([q for _, q in asked])
    wrong = [(q, m.entry_id, m.reason) for (entry_id, q), m in zip(asked, got, strict=True)
             if m.handoff or m.entry_id != entry_id]
    assert not wrong


def test_confirmed_questions_teach_the_head_but_calibrate_only_up_to_their_share() -> None:
    """The creator's confirmations: all of them teach the head; of the questions held out to calibrate, at most
    `confirmed_share` are confirmations (0: none), and an entry held out as out of scope is still left out whole."""
    faq = load_faq(SAMPLE)
    everything = FaqMatcher.fit(faq, HashingEncoder())
    confirmed = {q for e in faq for q in e.questions[2:]}  # most of the examples: over any cap
    assert len(confirmed) >= 10
    kept_out = FaqMatcher.fit(faq, HashingEncoder(), confirmed=confirmed, confirmed_share=0.0)
    assert kept_out.calibration.held_out == everything.calibration.held_out - len(confirmed)
    assert kept_out.meta.n_examples == everything.meta.n_examples  # all of them still teach the head
    capped = FaqMatcher.fit(faq, HashingEncoder(), confirmed=confirmed, confirmed_share=0.2)
    others = everything.calibration.held_out - len(confirmed)
    assert capped.calibration.held_out == others + int(0.2 / 0.8 * others)
    uncapped = FaqMatcher.fit(faq, HashingEncoder(), confirmed=confirmed, confirmed_share=1.0)
    assert uncapped.calibration.held_out == everything.calibration.held_out
    probe = sorted(confirmed)[:5]
    assert [m.entry_id for m in kept_out.match(probe)] == [m.entry_id for m in everything.match(probe)]


def test_handoff_examples_weigh_what_they_stand_for_in_the_traffic() -> None:
    texts = ["a", "b", "c", "d", "e"]
    weights = traffic_weights(texts, {"a"}, 0.6)  # one of five examples, 60 % of the traffic
    assert weights.tolist() == pytest.approx([3.0, 0.5, 0.5, 0.5, 0.5]) and weights.mean() == pytest.approx(1.0)
    assert traffic_weights(texts, {"a"}, None).tolist() == [1.0] * 5
    assert traffic_weights(texts, set(texts), 0.6).tolist() == [1.0] * 5  # nothing to weigh against
    assert traffic_weights(texts, {"a"}, 0.0).tolist() == pytest.approx([0.25, 1.1875, 1.1875, 1.1875, 1.1875])

    faq = load_faq(SAMPLE)
    hard = {q for e in faq for q in e.questions[1:]}  # most examples came from handoffs
    plain = FaqMatcher.fit(faq, HashingEncoder())
    assert FaqMatcher.fit(faq, HashingEncoder(), handed_off=hard).calibration == plain.calibration  # no share
    rare = FaqMatcher.fit(faq, HashingEncoder(), handed_off=hard, handoff_share=0.05).calibration
    common = FaqMatcher.fit(faq, HashingEncoder(), handed_off=hard, handoff_share=0.95).calibration
    assert rare != common and rare.held_out == common.held_out == plain.calibration.held_out
