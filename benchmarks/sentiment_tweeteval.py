"""Comment sentiment on the TweetEval test set, with baselines, throughput, latency and memory.

Prints, in one run: macro-recall and accuracy of the shipped model (nlp/weights/sentiment-minilm),
VADER, and frozen all-MiniLM-L6-v2 embeddings + logistic regression (10 k training tweets);
throughput of classify-and-store at batch 64; single-comment latency; resident memory added by
loading the model.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/sentiment_tweeteval.py [--data ../shared/data/tweeteval_sentiment]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.sentiment import LABELS, SHIPPED, SentimentModel, load_tweeteval, macro_recall


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def report(name: str, pred: np.ndarray, truth: np.ndarray) -> None:
    print(f"{name:42s} macro-recall {macro_recall(pred, truth) * 100:5.1f}   accuracy {(pred == truth).mean() * 100:5.1f}")


def vader(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    scores = np.array([analyzer.polarity_scores(t)["compound"] for t in texts])
    return np.where(scores >= 0.05, 2, np.where(scores <= -0.05, 0, 1))


def frozen_lr(train: tuple[list[str], list[int]], test_texts: list[str], n: int = 10_000) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    from nlp.encoder import TransformerEncoder

    rng = np.random.default_rng(0)
    idx = rng.choice(len(train[0]), n, replace=False)
    enc = TransformerEncoder.base()
    x = enc.encode([train[0][i] for i in idx])
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(x, np.array(train[1])[idx])
    pred: np.ndarray = clf.predict(enc.encode(test_texts))
    return pred


def throughput(model: Any, texts: list[str], n: int = 4096) -> float:
    """Classify and store comments at batch 64 (SQLite, one transaction per batch)."""
    from sqlalchemy import update

    from bot.store.db import make_engine, make_sessionmaker, upgrade
    from bot.store.models import DEFAULT_CREATOR_ID, Comment

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 't.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    now = datetime.now(UTC)
    with sessions() as s, s.begin():
        s.execute(Comment.__table__.insert(), [{"chat_id": -1, "message_id": i, "text": texts[i % len(texts)],
                                                "created_at": now} for i in range(n)])
    t = time.perf_counter()
    for start in range(1, n + 1, 64):
        with sessions() as s, s.begin():
            rows = s.execute(Comment.__table__.select().where(Comment.id >= start, Comment.id < start + 64)).all()
            preds = model.predict([r.text for r in rows], batch_size=64)
            s.execute(update(Comment), [{"id": r.id, "sentiment": p.label, "p_negative": p.negative,
                                         "p_neutral": p.neutral, "p_positive": p.positive}
                                        for r, p in zip(rows, preds, strict=True)])
    engine.dispose()
    return n / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/tweeteval_sentiment"))
    parser.add_argument("--model", default=str(SHIPPED))
    parser.add_argument("--torch", action="store_true",
                        help="the transformers reference (fp32) instead of the ONNX Runtime engine the bot runs")
    args = parser.parse_args()
    import torch

    data = load_tweeteval(Path(args.data))
    texts, labels = data["test"]
    truth = np.array(labels)
    print(f"# TweetEval sentiment test: {len(texts)} tweets; torch threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    import transformers  # noqa: F401  (import cost is not the model's memory)

    before = rss_mb()
    if args.torch:
        model: Any = SentimentModel.load(args.model)
    else:
        from nlp.sentiment_engine import EngineSentiment

        model = EngineSentiment.load(Path(tempfile.mkdtemp()), Path(args.model))
    model.predict(["warm up"])
    added = rss_mb() - before
    t = time.perf_counter()
    preds = model.predict(texts)
    seconds = time.perf_counter() - t
    pred = np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in preds])
    unknown = sum(p.label == "unknown" for p in preds)
    engine = "PyTorch fp32" if args.torch else f"ONNX Runtime {model.encoder.precision}"
    report(f"shipped model ({engine})", pred, truth)
    print(f"{'':42s} ({unknown} tweets labelled unknown, counted as neutral; {len(texts) / seconds:.0f} tweets/s)")
    report("VADER", vader(texts), truth)
    report("frozen MiniLM + logistic regression (10 k)", frozen_lr(data["train"], texts), truth)

    lat = []
    for text in texts[:300]:
        t = time.perf_counter()
        model.predict([text])
        lat.append((time.perf_counter() - t) * 1000)
    print(f"{'single comment latency p50 / p99':42s} {np.percentile(lat, 50):.1f} / {np.percentile(lat, 99):.1f} ms")
    print(f"{'classified and stored at batch 64':42s} {throughput(model, texts):.0f} comments/s")
    print(f"{'resident memory added by the model':42s} {added:.0f} MB")


if __name__ == "__main__":
    main()
