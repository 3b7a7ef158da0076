"""Reproduce the shipped multilingual sentiment head (nlp/weights/sentiment-e5-head).

    OMP_WAIT_POLICY=PASSIVE python scripts/train_sentiment_zh.py --shared ../shared/data --out nlp/weights/sentiment-e5-head
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.encoder import TransformerEncoder  # noqa: E402
from nlp.multilingual import NAME, multilingual_model_dir  # noqa: E402
from nlp.sentiment import load_tweeteval, macro_recall  # noqa: E402
from nlp.sentiment_multilingual import HeadSentiment, load_smp  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--out", default="nlp/weights/sentiment-e5-head")
    parser.add_argument("--tweets", type=int, default=8000)
    parser.add_argument("--data-dir", default=tempfile.mkdtemp(), help="where the converted e5 model is cached")
    args = parser.parse_args()
    shared = Path(args.shared)
    enc = TransformerEncoder(multilingual_model_dir(Path(args.data_dir)), max_length=128, name=NAME, prefix="query: ")
    zh_x, zh_y = load_smp(shared / "smp2020_ewect/virus_train.txt")
    tweets = load_tweeteval(shared / "tweeteval_sentiment")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(tweets["train"][0]), args.tweets, replace=False)
    x = zh_x + [tweets["train"][0][i] for i in idx]
    y = zh_y + [tweets["train"][1][i] for i in idx]
    val_x, val_y = load_smp(shared / "smp2020_ewect/virus_eval_labeled.txt")
    t = time.time()
    model = HeadSentiment.fit(enc, x, y, val=(val_x, val_y))
    model.save(Path(args.out))
    test_x, test_y = load_smp(shared / "smp2020_ewect/usual_eval_labeled.txt")
    pred = np.array([["negative", "neutral", "positive"].index(p.label) for p in model.predict(test_x)])
    truth = np.array(test_y)
    print(f"trained in {time.time() - t:.0f} s on {len(x)} texts; offsets {model.offsets.tolist()}")
    print(f"SMP2020 usual_eval_labeled (3-way): accuracy {(pred == truth).mean() * 100:.1f}, "
          f"macro-recall {macro_recall(pred, truth) * 100:.1f}")


if __name__ == "__main__":
    main()
