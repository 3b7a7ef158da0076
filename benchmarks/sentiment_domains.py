"""Sentiment across domains, side by side, for the shipped models as the bot routes them.

TweetEval test (tweets, macro-recall: the metric of the literature), GoEmotions test (Reddit comments, the
single-label ones, three-way accuracy) and SMP2020-EWECT `usual_eval_labeled` (general Weibo posts, three-way
accuracy). Every text goes through `ModelFactory.sentiment()`, the same routed classifier the bot and the CLI use.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/sentiment_domains.py [--english DIR] [--torch] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.model_factory import ModelFactory  # noqa: E402
from nlp.sentiment import LABELS, load_goemotions, load_tweeteval, macro_recall  # noqa: E402
from nlp.sentiment_multilingual import RoutedSentiment, load_smp  # noqa: E402


def classifier(data_dir: Path, multilingual_dir: str = "", english: Path | None = None,
               engine: str = "onnx") -> RoutedSentiment:
    """What the bot runs (default config), built by the one model factory."""
    return ModelFactory(data_dir, multilingual_dir=multilingual_dir, sentiment_dir=english,
                        engine=engine).sentiment()


def labels(model: RoutedSentiment, texts: list[str]) -> np.ndarray:
    """0/1/2 per text; `unknown` counts as neutral."""
    return np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in model.predict(texts)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared/data"))
    parser.add_argument("--data-dir", default=os.environ.get("CREATORBOT_BENCH_DATA", tempfile.gettempdir()
                                                             + "/creatorbot-e5"))
    parser.add_argument("--multilingual-dir", default="")
    parser.add_argument("--english", help="an English model directory (default: the shipped weights)")
    parser.add_argument("--torch", action="store_true", help="transformers (the reference) instead of ONNX Runtime")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N texts of each set")
    args = parser.parse_args()
    import torch

    shared = Path(args.shared)
    model = classifier(Path(args.data_dir), args.multilingual_dir, Path(args.english) if args.english else None,
                       engine="torch" if args.torch else "onnx")
    sets = {
        "TweetEval test (tweets)": load_tweeteval(shared / "tweeteval_sentiment")["test"],
        "GoEmotions test (Reddit, single-label)": load_goemotions(shared / "goemotions_sentiment", "test", True),
        "SMP2020 usual_eval (Weibo, Chinese)": load_smp(shared / "smp2020_ewect/usual_eval_labeled.txt"),
    }
    english = args.english or "shipped"
    print(f"# English model: {english}; multilingual: {model.multilingual.__class__.__name__} "
          f"({'PyTorch fp32' if args.torch else 'ONNX Runtime'}); torch threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    for name, (texts, truth) in sets.items():
        if args.limit:
            texts, truth = texts[: args.limit], truth[: args.limit]
        t = time.time()
        pred = labels(model, texts)
        y = np.asarray(truth)
        print(f"{name:40s} n {len(texts):6d}  accuracy {(pred == y).mean() * 100:5.1f}  "
              f"macro-recall {macro_recall(pred, y) * 100:5.1f}  ({len(texts) / (time.time() - t):.0f} texts/s)")


if __name__ == "__main__":
    main()
