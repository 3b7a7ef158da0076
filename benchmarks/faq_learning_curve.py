"""How the FAQ matcher learns from a creator's traffic, week by week (issue 22, part 3).

A simulated creator's FAQ: each intent of BANKING77 / HWU64 is one entry that starts with `--start` example
questions (from the training split). Questions then arrive day by day (`--per-day`), drawn without replacement from
the rest of the data set (train and test), with `--oos-share` of them from intents that have no entry (out of
scope: 15 % of the intents, chosen per seed). For every question the bot answers or hands off, as configured:

* a handed-off question is answered by the creator (cost `--handoff-min`); an in-scope one becomes a new example of
  its entry (the creator's answer picks the entry; an out-of-scope one adds nothing);
* every day the bot shows the creator the `--confirm` answered questions closest above the threshold ("did I get
  these right?"); each look costs `--confirm-min`; the ones it got right are confirmed and become examples, the
  wrong ones are not added (the follower already had a wrong answer: it counts against precision);
* the bot retrains nightly (`--retrain nightly`) or as soon as N new examples are waiting (`--retrain N`).

Per simulated week: share of in-scope questions answered automatically, precision of everything answered (an
answered out-of-scope question counts as wrong), handoffs, confirmations, the creator's minutes and the mean
training time. Embeddings come from benchmarks/faq_encoders.py's cache.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_learning_curve.py [--encoder minilm] [--weeks 4] [--png docs/x.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from faq_encoders import cached, read  # noqa: E402

from nlp.faq import CONFIRMED_SHARE, DEFAULT_SIGNALS, FaqMatcher  # noqa: E402
from nlp.faq_data import FaqEntry  # noqa: E402

NAMES = {"banking77": "BANKING77", "hwu64": "HWU64"}


@dataclass
class Week:
    in_scope: int = 0
    answered_in_scope: int = 0
    answered: int = 0
    answered_right: int = 0
    handoffs: int = 0
    confirmations: int = 0
    confirmed: int = 0
    fits: list[float] = field(default_factory=list)
    examples: int = 0

    def minutes(self, handoff_min: float, confirm_min: float) -> float:
        return self.handoffs * handoff_min + self.confirmations * confirm_min


def simulate(folder: str, args: argparse.Namespace, seed: int) -> list[Week]:
    texts, labels = (a + b for a, b in zip(read(folder, "train"), read(folder, "test"), strict=True))
    rng = np.random.default_rng(seed)
    intents = sorted(set(labels))
    held = set(rng.choice(intents, max(1, round(len(intents) * args.oos_share)), replace=False).tolist())
    pool: dict[str, list[str]] = {}
    for t, c in zip(texts, labels, strict=True):
        pool.setdefault(c, []).append(t)
    examples: dict[str, list[str]] = {}
    stream_in: list[tuple[str, str]] = []
    stream_out: list[tuple[str, str]] = []
    train_texts = set(read(folder, "train")[0])
    for c in sorted(pool):
        qs = [pool[c][i] for i in rng.permutation(len(pool[c]))]
        if c in held:
            stream_out += [(q, c) for q in qs]
            continue
        first = [q for q in qs if q in train_texts][: args.start]
        examples[c] = first
        stream_in += [(q, c) for q in qs if q not in first]
    stream_in = [stream_in[i] for i in rng.permutation(len(stream_in))]
    stream_out = [stream_out[i] for i in rng.permutation(len(stream_out))]
    enc = cached(args.encoder, folder)
    confirmed: set[str] = set()  # a capped share of the calibration's held-out questions (--confirmed-share)
    handed_off: set[str] = set()  # examples learned from handoffs
    recent: list[tuple[int, int]] = []  # the last 7 days: (in-scope questions handed off, in-scope questions)

    def fit() -> tuple[FaqMatcher, float]:
        entries = [FaqEntry(c, f"answer for {c}", list(qs)) for c, qs in examples.items()]
        start = time.time()
        share = sum(h for h, _ in recent) / max(sum(n for _, n in recent), 1) if args.weigh_handoffs else None
        m = FaqMatcher.fit(entries, enc, target_precision=args.target, seed=seed, head=args.head, signals=args.signals,
                           confirmed=confirmed, confirmed_share=args.confirmed_share, handed_off=handed_off,
                           handoff_share=share if recent else None)
        return m, time.time() - start

    matcher, seconds = fit()
    weeks: list[Week] = []
    waiting = 0
    n_out = round(args.per_day * args.oos_share)
    for day in range(args.weeks * 7):
        if day % 7 == 0:
            weeks.append(Week(fits=[seconds] if day == 0 else []))
        week = weeks[-1]
        today = stream_in[: args.per_day - n_out] + stream_out[:n_out]
        del stream_in[: args.per_day - n_out]
        stream_out = stream_out[n_out:] + stream_out[:n_out]  # out-of-scope intents are few: cycle them
        today = [today[i] for i in rng.permutation(len(today))]
        near: list[tuple[float, str, str, bool]] = []  # answered today: (confidence, question, entry, right)
        recent.append((0, 0))
        del recent[:-7]
        chunk = args.retrain if isinstance(args.retrain, int) else len(today)
        for lo in range(0, len(today), chunk):
            batch = today[lo : lo + chunk]
            got = matcher.match([q for q, _ in batch])
            for (q, c), m in zip(batch, got, strict=True):
                in_scope = c in examples
                week.in_scope += in_scope
                recent[-1] = (recent[-1][0] + (in_scope and m.handoff), recent[-1][1] + in_scope)
                if m.handoff:
                    week.handoffs += 1
                    if in_scope:
                        examples[c].append(q)
                        handed_off.add(q)
                        waiting += 1
                else:
                    right = in_scope and m.entry_id == c
                    week.answered += 1
                    week.answered_right += right
                    week.answered_in_scope += in_scope
                    near.append((m.confidence - matcher.calibration.threshold, q, m.entry_id, right))
            if isinstance(args.retrain, int) and waiting >= args.retrain:
                matcher, seconds = fit()
                week.fits.append(seconds)
                waiting = 0
        for _, q, entry, right in sorted(near)[: args.confirm]:
            week.confirmations += 1
            if right:
                week.confirmed += 1
                examples[entry].append(q)
                confirmed.add(q)
                waiting += 1
        if args.retrain == "nightly" and waiting:
            matcher, seconds = fit()
            week.fits.append(seconds)
            waiting = 0
        week.examples = sum(len(v) for v in examples.values())
    return weeks


def table(name: str, weeks_by_seed: list[list[Week]], args: argparse.Namespace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for w in range(args.weeks):
        ws = [seed_weeks[w] for seed_weeks in weeks_by_seed]
        rows.append({
            "week": w + 1,
            "answered": np.mean([x.answered_in_scope / max(x.in_scope, 1) for x in ws]),
            "precision": np.mean([x.answered_right / max(x.answered, 1) for x in ws]),
            "handoffs": np.mean([x.handoffs for x in ws]),
            "confirmations": np.mean([x.confirmations for x in ws]),
            "minutes": np.mean([x.minutes(args.handoff_min, args.confirm_min) for x in ws]),
            "examples": np.mean([x.examples for x in ws]),
            "fit": np.mean([np.mean(x.fits) if x.fits else 0.0 for x in ws]),
        })
    print(f"\n## {name}: {args.per_day} questions a day ({args.oos_share:.0%} out of scope), start {args.start} per "
          f"entry, retrain {args.retrain}, {args.confirm} confirmations a day, seeds 0..{args.seeds - 1} (mean)")
    print("| week | in scope answered | precision of answered | handoffs | confirmations | creator minutes "
          "| examples at week end | mean fit s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['week']} | {r['answered'] * 100:.1f} | {r['precision'] * 100:.1f} | {r['handoffs']:.0f} | "
              f"{r['confirmations']:.0f} | {r['minutes']:.0f} | {r['examples']:.0f} | {r['fit']:.1f} |", flush=True)
    return rows


def plot(results: dict[str, list[dict[str, Any]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, rows in results.items():
        weeks = [r["week"] for r in rows]
        axes[0].plot(weeks, [r["answered"] * 100 for r in rows], marker="o", label=name)
        axes[1].plot(weeks, [r["precision"] * 100 for r in rows], marker="o", label=name)
        axes[2].plot(weeks, [r["minutes"] for r in rows], marker="o", label=name)
    axes[0].axhline(85, color="grey", ls=":", lw=1)
    axes[1].axhline(94, color="grey", ls=":", lw=1)
    for ax, label in zip(axes, ("in-scope questions answered (%)", "precision of answered (%)",
                                "creator minutes per week"), strict=True):
        ax.set_xlabel("simulated week")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_xticks(weeks)
    axes[0].legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"\nsaved {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="banking77,hwu64")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--head", default="lr")
    parser.add_argument("--signals", default=DEFAULT_SIGNALS)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--start", type=int, default=5)
    parser.add_argument("--per-day", type=int, default=100)
    parser.add_argument("--oos-share", type=float, default=0.15)
    parser.add_argument("--confirm", type=int, default=10)
    parser.add_argument("--handoff-min", type=float, default=1.0)
    parser.add_argument("--confirm-min", type=float, default=0.1)
    parser.add_argument("--retrain", default="nightly", help="'nightly' or N: retrain after N new examples")
    parser.add_argument("--confirmed-share", type=float, default=CONFIRMED_SHARE,
                        help="at most this share of the held-out questions are confirmations (0: none; 1: no cap)")
    parser.add_argument("--weigh-handoffs", action=argparse.BooleanOptionalAction, default=True,
                        help="weigh the examples learned from handoffs by the share of the last 7 days' in-scope "
                             "questions handed off (FaqMatcher.fit's handoff_share), as the bot does")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--png", default="")
    args = parser.parse_args()
    args.retrain = int(args.retrain) if args.retrain != "nightly" else "nightly"
    print(f"# encoder {args.encoder}, head {args.head}, signals {args.signals}, target {args.target:.0%}, "
          f"confirmations at most {args.confirmed_share:.0%} of the held-out questions, handoffs weighed by their "
          f"share of the traffic: {'yes' if args.weigh_handoffs else 'no'}; "
          f"{args.handoff_min} min per handoff, {args.confirm_min} min per confirmation; "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {}
    for folder in args.datasets.split(","):
        results[NAMES[folder]] = table(NAMES[folder], [simulate(folder, args, s) for s in range(args.seeds)], args)
    if args.png:
        plot(results, Path(args.png), f"{args.encoder} ({args.head}, {args.signals}), {args.per_day} questions/day, "
             f"{args.oos_share:.0%} out of scope, start {args.start}/entry, retrain {args.retrain}, "
             f"{args.confirm} confirmations/day")


if __name__ == "__main__":
    main()
