"""Reproduce the shipped sentiment weights (nlp/weights/sentiment-minilm) from TweetEval.

    OMP_WAIT_POLICY=PASSIVE python scripts/train_sentiment.py --data ../shared/data/tweeteval_sentiment \
        --out nlp/weights/sentiment-minilm --max-examples 30000 --epochs 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.sentiment import SentimentModel, TrainConfig, load_tweeteval, macro_recall  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/tweeteval_sentiment"))
    parser.add_argument("--out", default="nlp/weights/sentiment-minilm")
    parser.add_argument("--max-examples", type=int, default=30000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    args = parser.parse_args()
    from tqdm import tqdm

    data = load_tweeteval(Path(args.data))
    config = TrainConfig(epochs=args.epochs, lr=args.lr, max_examples=args.max_examples)
    bar = tqdm(file=sys.stderr, desc="training")

    def progress(step: int, total: int) -> None:
        bar.total = total
        bar.update(step - bar.n)

    t0 = time.time()
    model = SentimentModel.fit(*data["train"], config=config, val=data["val"], progress=progress)
    bar.close()
    model.save(args.out)
    texts, labels = data["test"]
    pred = np.array([["negative", "neutral", "positive"].index(p.label) if p.label != "unknown" else 1
                     for p in model.predict(texts)])
    truth = np.array(labels)
    print(f"trained in {time.time() - t0:.0f} s on {model.meta.train['examples']} tweets; bias {model.meta.bias}")
    print(f"TweetEval test: macro-recall {macro_recall(pred, truth) * 100:.1f}, accuracy {(pred == truth).mean() * 100:.1f}")


if __name__ == "__main__":
    main()
