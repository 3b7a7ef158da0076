"""The shipped sentiment weights work out of the box (slow: loads the real model)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nlp.sentiment import SHIPPED, macro_recall, tune_bias


def test_shipped_weights_are_small() -> None:
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert 0 < size < 10 * 1024 * 1024
    assert (SHIPPED / "adapter" / "adapter_config.json").exists()


def test_shipped_weights_name_no_folder_of_the_machine_they_were_trained_on() -> None:
    weights = SHIPPED.parent
    texts = [f for f in weights.rglob("*") if f.suffix in (".json", ".md")]
    assert texts
    leaks = [str(f.relative_to(weights)) for f in texts if re.search(r'(^|[\s"\'])/(tmp|work|home|root|usr)/', f.read_text())]
    assert not leaks


def test_bias_tuning_raises_macro_recall() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3))
    logits[np.arange(600), truth] += 1.0
    logits[:, 1] += 1.5  # a model that over-predicts neutral
    bias = tune_bias(logits, truth)
    assert macro_recall((logits + bias).argmax(1), truth) > macro_recall(logits.argmax(1), truth) + 0.05


@pytest.mark.slow
def test_fresh_install_labels_obvious_comments() -> None:
    from nlp.sentiment import SentimentModel

    model = SentimentModel.load()
    pos, neg, unk = model.predict(["I love this!", "this is awful", "太喜欢这个视频了！"])
    assert pos.label == "positive" and pos.positive > 0.5
    assert neg.label == "negative" and neg.negative > 0.5
    assert unk.label == "unknown"  # Chinese is unreadable for this vocabulary: not guessed
    assert abs(pos.negative + pos.neutral + pos.positive - 1) < 1e-5
