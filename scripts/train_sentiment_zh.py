"""Reproduce the shipped multilingual sentiment model (nlp/weights/sentiment-e5): a LoRA adapter on multilingual-e5.

    OMP_WAIT_POLICY=PASSIVE python scripts/train_sentiment_zh.py --shared ../shared/data --out nlp/weights/sentiment-e5

Training data: SMP2020-EWECT `virus_train` (COVID-topic Weibo posts, six emotions mapped to three labels, see
nlp/sentiment_multilingual.py) plus some English tweets; class offsets tuned on `virus_eval_labeled`; scored on the
general-topic `usual_eval_labeled`, which training never sees. The word embeddings stay frozen (LoRA on the
attention and feed-forward layers only), which keeps the optimiser small on a CPU.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.encoder import TransformerEncoder
from nlp.multilingual import NAME, multilingual_model_dir
from nlp.sentiment import LABELS, SentimentModel, TrainConfig, load_tweeteval, macro_recall
from nlp.sentiment_multilingual import load_smp


def accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    return float((pred == truth).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--out", default="nlp/weights/sentiment-e5")
    parser.add_argument("--tweets", type=int, default=2000)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--max-examples", type=int, default=0)
    parser.add_argument("--data-dir", default=tempfile.gettempdir() + "/creatorbot-e5",
                        help="where the converted e5 model is cached")
    args = parser.parse_args()
    from tqdm import tqdm

    shared = Path(args.shared)
    enc = TransformerEncoder(multilingual_model_dir(Path(args.data_dir)), max_length=args.max_length, name=NAME,
                             prefix="query: ")
    rows = list(zip(*load_smp(shared / "smp2020_ewect/virus_train.txt"), strict=True))
    tweets = list(zip(*load_tweeteval(shared / "tweeteval_sentiment")["train"], strict=True))
    rng = random.Random(0)
    rng.shuffle(tweets)
    rows += tweets[: args.tweets]
    val = load_smp(shared / "smp2020_ewect/virus_eval_labeled.txt")
    config = TrainConfig(epochs=args.epochs, lr=args.lr, max_length=args.max_length, max_examples=args.max_examples)
    bar = tqdm(file=sys.stderr, desc="training", mininterval=30)

    def progress(step: int, total: int) -> None:
        bar.total = total
        bar.update(step - bar.n)

    t0 = time.time()
    model = SentimentModel.fit([r[0] for r in rows], [r[1] for r in rows], config=config, val=val, progress=progress,
                               score_fn=accuracy, encoder=enc)
    bar.close()
    model.meta.train.update(tweets=args.tweets, data="SMP2020 virus_train + TweetEval train")
    model.save(Path(args.out))
    test_x, test_y = load_smp(shared / "smp2020_ewect/usual_eval_labeled.txt")
    pred = np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in model.predict(test_x)])
    truth = np.array(test_y)
    print(f"trained in {time.time() - t0:.0f} s on {len(rows)} texts; offsets {model.meta.bias}")
    print(f"SMP2020 usual_eval_labeled (3-way, fp32): accuracy {accuracy(pred, truth) * 100:.1f}, "
          f"macro-recall {macro_recall(pred, truth) * 100:.1f}")


if __name__ == "__main__":
    main()
