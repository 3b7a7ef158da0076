"""Chinese sentiment on SMP2020-EWECT usual_eval_labeled (2,000 general Weibo posts), three labels.

Labels: happy -> positive; neutral, surprise -> neutral; angry, sad, fear -> negative.
Prints accuracy and macro-F1 of the shipped multilingual head (frozen multilingual-e5-small +
linear head, nlp/weights/sentiment-e5-head), of frozen all-MiniLM-L6-v2 + logistic regression
trained on the same data, and of the English LoRA model alone (which labels Chinese `unknown`);
then the routed classifier's English result on TweetEval (it must not get worse) and latency.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/sentiment_smp2020.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.sentiment import LABELS, load_tweeteval, macro_recall
from nlp.sentiment_multilingual import load_smp


def macro_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred, average="macro"))


def labels(preds: list[object]) -> np.ndarray:
    return np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in preds])  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--data-dir", default=os.environ.get("CREATORBOT_BENCH_DATA", tempfile.mkdtemp()))
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    from nlp.encoder import TransformerEncoder
    from nlp.model_factory import ModelFactory
    from nlp.sentiment_multilingual import SHIPPED_HEAD, HeadSentiment

    shared = Path(args.shared)
    test_x, test_y = load_smp(shared / "smp2020_ewect/usual_eval_labeled.txt")
    truth = np.array(test_y)
    models = ModelFactory(Path(args.data_dir))  # what the bot and the CLI build
    routed = models.sentiment()
    print(f"# SMP2020-EWECT usual_eval_labeled: {len(test_x)} posts, three labels")
    if (SHIPPED_HEAD / "head.npz").exists():
        e5 = models.multilingual_encoder()
        e5.max_length = 128  # type: ignore[attr-defined]
        pred = labels(HeadSentiment.load(e5).predict(test_x))
        print(f"{'older head (frozen e5 + linear)':44s} accuracy {(pred == truth).mean() * 100:5.1f}  "
              f"macro-F1 {macro_f1(pred, truth) * 100:5.1f}")
        e5.max_length = 256  # type: ignore[attr-defined]
    multilingual = routed.multilingual
    assert multilingual is not None
    pred = labels(multilingual.predict(test_x))
    print(f"{'multilingual model (' + type(multilingual).__name__ + ')':44s} accuracy {(pred == truth).mean() * 100:5.1f}  "
          f"macro-F1 {macro_f1(pred, truth) * 100:5.1f}")
    train_x, train_y = load_smp(shared / "smp2020_ewect/virus_train.txt")
    minilm = TransformerEncoder.base()
    lr = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced").fit(minilm.encode(train_x), train_y)
    pred = lr.predict(minilm.encode(test_x))
    print(f"{'frozen MiniLM + LR (same Weibo training)':44s} accuracy {(pred == truth).mean() * 100:5.1f}  "
          f"macro-F1 {macro_f1(pred, truth) * 100:5.1f}")
    preds = routed.english.predict(test_x)
    unknown = sum(p.label == "unknown" for p in preds)
    pred = labels(preds)
    print(f"{'English LoRA model alone (unknown=neutral)':44s} accuracy {(pred == truth).mean() * 100:5.1f}  "
          f"macro-F1 {macro_f1(pred, truth) * 100:5.1f}  ({unknown} unknown)")
    pred = labels(routed.predict(test_x))
    print(f"{'routed (what the bot runs)':44s} accuracy {(pred == truth).mean() * 100:5.1f}  "
          f"macro-F1 {macro_f1(pred, truth) * 100:5.1f}")
    tweets, tweet_labels = load_tweeteval(shared / "tweeteval_sentiment")["test"]
    pred = labels(routed.predict(tweets))
    print(f"{'routed on TweetEval test (English)':44s} macro-recall {macro_recall(pred, np.array(tweet_labels)) * 100:5.1f}")
    lat = []
    for text in test_x[:200]:
        t = time.perf_counter()
        routed.predict([text])
        lat.append((time.perf_counter() - t) * 1000)
    print(f"{'Chinese comment latency p50 / p99 ms':44s} {np.percentile(lat, 50):.1f} / {np.percentile(lat, 99):.1f}")


if __name__ == "__main__":
    main()
