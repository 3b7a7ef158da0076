"""Matchers side by side on BANKING77 and HWU64, the calibration protocol of benchmarks/faq_calibration.py (issue 22).

Each intent is one FAQ entry with `--shots` example questions from the training split; 15 % of the intents are left
out of training and their test questions are the out-of-scope traffic. Every variant is fitted exactly as the bot
fits it (threshold chosen on its own held-out questions for the target) and judged on the whole test split, on the
same seeds and the same samples. Embeddings come from benchmarks/faq_encoders.py's disk cache (each text encoded
once per encoder), so "fit s" is the matcher's own training time with embeddings at hand.

A variant is `ENCODER[:HEAD[:SIGNALS]]`: ENCODER is a cache name (`minilm`, `e5`, `mpnet`, `mpnet-int8`) or several
joined by `+` (concatenated); HEAD and SIGNALS are FaqMatcher.fit's `head` (`lr`, `ensemble`) and `signals` (`basic`,
`rich`); the defaults are what shipped before issue 22.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_matchers.py --variants minilm,minilm+e5,minilm+e5:ensemble:rich
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from faq_encoders import cached, read  # noqa: E402

from nlp.faq import FaqMatcher  # noqa: E402
from nlp.faq_data import FaqEntry  # noqa: E402

NAMES = {"banking77": "BANKING77", "hwu64": "HWU64"}


def sample(train: tuple[list[str], list[str]], shots: int, oos_share: float,
           seed: int) -> tuple[list[FaqEntry], set[str]]:
    """The same draw as benchmarks/faq_calibration.py for a seed: held-out intents, then `shots` per intent."""
    rng = np.random.default_rng(seed)
    intents = sorted(set(train[1]))
    held = set(rng.choice(intents, max(1, round(len(intents) * oos_share)), replace=False).tolist())
    by: dict[str, list[str]] = {}
    for t, c in zip(*train, strict=True):
        if c not in held:
            by.setdefault(c, []).append(t)
    entries = []
    for c, qs in by.items():
        entries.append(FaqEntry(c, f"answer for {c}", [qs[i] for i in rng.permutation(len(qs))[:shots]]))
    return entries, held


def judge(matcher: FaqMatcher, test: tuple[list[str], list[str]], held: set[str]) -> dict[str, float]:
    got = matcher.match(test[0])
    truth = np.array(test[1])
    oos = np.isin(truth, list(held))
    answered = np.array([not m.handoff for m in got])
    right = np.array([m.entry_id == y for m, y in zip(got, truth, strict=True)]) & ~oos
    return {"precision": float(right[answered].mean()) if answered.any() else float("nan"),
            "in-scope answered": float(answered[~oos].mean()),
            "oos handed off": float(1 - answered[oos].mean()),
            "top-1": float(right[~oos].mean()),
            "held-out est.": float(matcher.calibration.held_out_precision or 0.0)}


def parse(variant: str) -> tuple[str, str, str]:
    encoder, head, signals = [*variant.split(":"), "", ""][:3]
    return encoder, head or "lr", signals or "basic"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="minilm,e5,minilm+e5")
    parser.add_argument("--datasets", default="banking77,hwu64")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--oos-share", type=float, default=0.15)
    args = parser.parse_args()
    variants = args.variants.split(",")
    print(f"# {args.shots} questions per intent, {args.oos_share:.0%} of intents out of scope, target "
          f"{args.target:.0%}, seeds 0..{args.seeds - 1} (mean ± sd); load average {os.getloadavg()[0]:.1f}")
    rows = []
    for folder in args.datasets.split(","):
        train, test = read(folder, "train"), read(folder, "test")
        for variant in variants:
            name, head, signals = parse(variant)
            enc = cached(name, folder)
            runs, fit_s = [], []
            for seed in range(args.seeds):
                entries, held = sample(train, args.shots, args.oos_share, seed)
                start = time.time()
                matcher = FaqMatcher.fit(entries, enc, target_precision=args.target, seed=seed, head=head,
                                         signals=signals)
                fit_s.append(time.time() - start)
                runs.append(judge(matcher, test, held))
            keys = list(runs[0])
            mean = {k: float(np.mean([r[k] for r in runs])) for k in keys}
            sd = {k: float(np.std([r[k] for r in runs])) for k in keys}
            rows.append((NAMES[folder], variant, mean, sd, float(np.mean(fit_s))))
            cells = " | ".join(f"{mean[k] * 100:.1f} ± {sd[k] * 100:.1f}" for k in keys)
            print(f"| {NAMES[folder]} | {variant} | {cells} | {np.mean(fit_s):.1f} |", flush=True)
    print("\n| data | variant | precision of all answered | in scope answered | out of scope handed off | top-1 in scope "
          "| held-out estimate | fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for data, variant, mean, sd, fit in rows:
        cells = " | ".join(f"{mean[k] * 100:.1f} ± {sd[k] * 100:.1f}" for k in mean)
        print(f"| {data} | {variant} | {cells} | {fit:.1f} |")


if __name__ == "__main__":
    main()
