"""Reproduce the shipped sentiment weights (nlp/weights/sentiment-minilm) from tweets and Reddit comments.

    OMP_WAIT_POLICY=PASSIVE python scripts/train_sentiment.py --shared ../shared/data \
        --out nlp/weights/sentiment-minilm --tweets 16000 --comments 16000 --start-from nlp/weights/sentiment-minilm

Training data: TweetEval's training tweets and GoEmotions' *train* split (never its test split), mixed and
shuffled; see `nlp.sentiment.goemotions_label` for how `ambiguous` and multi-label comments are treated.
The class offsets are tuned on TweetEval validation + GoEmotions dev for the mean of TweetEval macro-recall
and GoEmotions accuracy. `--start-from` continues training an existing adapter (the shipped one was trained
on 30,000 tweets first).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.sentiment import (
    LABELS,
    SentimentModel,
    TrainConfig,
    load_goemotions,
    load_tweeteval,
    macro_recall,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--out", default="nlp/weights/sentiment-minilm")
    parser.add_argument("--tweets", type=int, default=16000, help="training tweets (0: all)")
    parser.add_argument("--comments", type=int, default=16000, help="GoEmotions training comments (0: all)")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--start-from", default="", help="an adapter directory to continue training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-limit", type=int, default=0, help="score only the first N test texts of each set")
    parser.add_argument("--head-only", action="store_true",
                        help="keep the adapter of --start-from, train only a new head on the mixed data")
    args = parser.parse_args()
    from tqdm import tqdm

    shared = Path(args.shared)
    rng = random.Random(args.seed)
    tweets = load_tweeteval(shared / "tweeteval_sentiment")
    go_root = shared / "goemotions_sentiment"

    def sample(pair: tuple[list[str], list[int]], n: int) -> list[tuple[str, int]]:
        rows = list(zip(*pair, strict=True))
        rng.shuffle(rows)
        return rows[:n] if n else rows

    rows = sample(tweets["train"], args.tweets) + sample(load_goemotions(go_root, "train"), args.comments)
    rng.shuffle(rows)
    val_t = tweets["val"]
    val_g = load_goemotions(go_root, "dev", single_only=True)
    n_t = len(val_t[0])

    def score(pred: np.ndarray, truth: np.ndarray) -> float:
        return 0.5 * macro_recall(pred[:n_t], truth[:n_t]) + 0.5 * float((pred[n_t:] == truth[n_t:]).mean())

    config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=args.seed)
    bar = tqdm(file=sys.stderr, desc="training", mininterval=30)

    def progress(step: int, total: int) -> None:
        bar.total = total
        bar.update(step - bar.n)

    t0 = time.time()
    if args.head_only:
        model = SentimentModel.load(args.start_from or "nlp/weights/sentiment-minilm")  # PyTorch, same weights
        model.refit_head([r[0] for r in rows], [r[1] for r in rows], (val_t[0] + val_g[0], val_t[1] + val_g[1]),
                         score_fn=score)
    else:
        model = SentimentModel.fit([r[0] for r in rows], [r[1] for r in rows], config=config,
                                   val=(val_t[0] + val_g[0], val_t[1] + val_g[1]), progress=progress,
                                   start_from=Path(args.start_from) if args.start_from else None, score_fn=score)
    bar.close()
    model.meta.train.update(tweets=args.tweets, comments=args.comments, start_from=args.start_from or None,
                            head_only=args.head_only)
    model.save(args.out, adapter_from=Path(args.start_from or "nlp/weights/sentiment-minilm") if args.head_only else None)
    print(f"trained in {time.time() - t0:.0f} s on {len(rows)} texts; bias {model.meta.bias}", flush=True)

    def evaluate(texts: list[str], labels: list[int]) -> tuple[float, float]:
        if args.eval_limit:
            texts, labels = texts[: args.eval_limit], labels[: args.eval_limit]
        pred = np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in model.predict(texts)])
        truth = np.array(labels)
        return macro_recall(pred, truth) * 100, float((pred == truth).mean()) * 100

    mr, acc = evaluate(*tweets["test"])
    print(f"TweetEval test: macro-recall {mr:.1f}, accuracy {acc:.1f}")
    mr, acc = evaluate(*load_goemotions(go_root, "test", single_only=True))
    print(f"GoEmotions test, single-label: macro-recall {mr:.1f}, accuracy {acc:.1f}")


if __name__ == "__main__":
    main()
