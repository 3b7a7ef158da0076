"""Does the FAQ matcher's precision land at its target on data nobody tuned it on? (BANKING77 and HWU64)

Each intent is one FAQ entry with `--shots` example questions from the training split; a share of whole
intents is left out of training and their test questions play the questions the FAQ cannot answer
(out of scope). For each precision target the matcher is fitted (the threshold is chosen on its own
held-out questions, as in the bot) and judged on the test split:

* precision of everything it answered (an answered out-of-scope question counts as wrong),
* the share of in-scope questions it answered, the share of out-of-scope questions it handed off,
* top-1 accuracy in scope (what the threshold cannot change).

The first table per data set is the calibration curve (target vs achieved), mean over seeds.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_calibration.py [--seeds 3] [--shots 10] [--cache DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from faq_banking77 import CachedEncoder, entries_for  # noqa: E402

from nlp.encoder import TransformerEncoder  # noqa: E402
from nlp.faq import FaqMatcher  # noqa: E402

DATASETS = {"BANKING77": ("banking77", "category"), "HWU64": ("hwu64", "intent")}
TARGETS = (0.85, 0.90, 0.95, 0.97, 0.99)


def read(path: Path, column: str) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r[column] for r in rows]


def run(enc: CachedEncoder, train: tuple[list[str], list[str]], test: tuple[list[str], list[str]], shots: int,
        oos_share: float, target: float, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    intents = sorted(set(train[1]))
    held = set(rng.choice(intents, max(1, round(len(intents) * oos_share)), replace=False).tolist())
    by: dict[str, list[str]] = {}
    for t, c in zip(*train, strict=True):
        if c not in held:
            by.setdefault(c, []).append(t)
    texts, labels = [], []
    for c, qs in by.items():
        for i in rng.permutation(len(qs))[:shots]:
            texts.append(qs[i])
            labels.append(c)
    matcher = FaqMatcher.fit(entries_for(texts, labels), enc, target_precision=target, seed=seed)  # type: ignore[arg-type]
    got = matcher.match(test[0])
    truth = np.array(test[1])
    oos = np.isin(truth, list(held))
    answered = np.array([not m.handoff for m in got])
    right = np.array([m.entry_id == y for m, y in zip(got, truth, strict=True)]) & ~oos
    cal = matcher.calibration
    return {"precision of all answered": float(right[answered].mean()) if answered.any() else float("nan"),
            "precision of answered in-scope": float(right[answered & ~oos].mean()),
            "in-scope answered": float(answered[~oos].mean()),
            "out-of-scope handed off": float(1 - answered[oos].mean()),
            "top-1 in scope": float(right[~oos].mean()),
            "held-out estimate of precision": float(cal.held_out_precision or 0.0),
            "threshold": float(cal.threshold)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(ROOT.parent / "shared/data"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--oos-share", type=float, default=0.15, help="share of intents held out as out of scope")
    parser.add_argument("--targets", default=",".join(str(t) for t in TARGETS))
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "creatorbot-faq-embeddings"),
                        help="embeddings are cached here between runs")
    args = parser.parse_args()
    import torch

    enc = CachedEncoder(TransformerEncoder.base())
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    targets = [float(t) for t in args.targets.split(",")]
    print(f"# {args.shots} questions per intent, {args.oos_share:.0%} of intents held out as out of scope, "
          f"{args.seeds} seeds (mean); torch threads {torch.get_num_threads()}")
    for name in args.datasets.split(","):
        folder, column = DATASETS[name]
        train = read(Path(args.shared) / folder / "train.csv", column)
        test = read(Path(args.shared) / folder / "test.csv", column)
        stored = cache / f"{folder}.npz"
        if stored.exists():
            data = np.load(stored, allow_pickle=False)
            enc.cache.update(zip(data["texts"].tolist(), data["vectors"], strict=True))
        enc.encode(train[0] + test[0])
        np.savez(stored, texts=np.array(list(enc.cache)), vectors=np.stack(list(enc.cache.values())))
        print(f"\n## {name}: {len(set(train[1]))} intents, {len(test[0])} test questions")
        keys: list[str] = []
        rows = []
        for target in targets:
            runs = [run(enc, train, test, args.shots, args.oos_share, target, seed) for seed in range(args.seeds)]
            keys = list(runs[0])
            rows.append((target, {k: float(np.mean([r[k] for r in runs])) for k in keys},
                         {k: float(np.std([r[k] for r in runs])) for k in keys}))
        print("| target | " + " | ".join(keys) + " |")
        print("| --- |" + " --- |" * len(keys))
        for target, mean, sd in rows:
            cells = [f"{mean[k]:.3f}" if k == "threshold" else f"{mean[k] * 100:.1f} ± {sd[k] * 100:.1f}" for k in keys]
            print(f"| {target * 100:.0f} % | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
