"""Question themes on BANKING77: each test question plays one follower's question, intents are the truth.

Prints, for the shipped clustering (`nlp.themes`: average linkage, cosine distance, a theme needs 3 askers):

* the threshold tuned on *train* questions (5 samples of 40 questions per intent, the size of the test set;
  the cut that maximises the mean adjusted Rand index), with complete linkage next to it;
* on the 3,080 *test* questions at the shipped threshold: adjusted Rand index (ARI; unthemed questions count
  as singletons), purity (share of themed questions in their theme's majority intent), coverage (share of
  questions in a theme), how many themes (77 intents), and the same at a few other cuts;
* `compare` between two periods: test questions split in two halves per intent; share of the second
  half's themes paired with a first-half theme of the same majority intent.

Embeddings are cached on disk (`--cache`).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/themes_banking77.py [--data ../shared/data/banking77]
        [--encoder all-MiniLM-L6-v2|multilingual-e5-small] [--cache /tmp/creatorbot-bench]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.themes import LINKAGE, MIN_ASKERS, THRESHOLDS, Asked, compare, cut, find_themes, tree

GRID = np.round(np.arange(0.04, 0.90, 0.02), 2)


def load(path: Path) -> tuple[list[str], list[str]]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


class CachedEncoder:
    """Wraps an encoder; embeddings of a list of texts are kept in one .npy file per (model, texts)."""

    def __init__(self, name: str, cache: Path, data_dir: Path) -> None:
        self.name = name
        self.cache = cache
        self.data_dir = data_dir
        self.inner: object | None = None
        self.memo: dict[str, np.ndarray] = {}

    def _load(self) -> object:
        if self.inner is None:
            from nlp.encoder import TransformerEncoder

            if self.name == "multilingual-e5-small":
                from nlp.multilingual import multilingual_model_dir

                self.inner = TransformerEncoder(multilingual_model_dir(self.data_dir), max_length=256,
                                                name=self.name, prefix="query: ")
            else:
                self.inner = TransformerEncoder.base(self.name)
        return self.inner

    def bulk(self, texts: list[str]) -> np.ndarray:
        key = hashlib.sha256(("\n".join([self.name, *texts])).encode()).hexdigest()[:16]
        path = self.cache / f"{self.name}-{key}.npy"
        if path.exists():
            emb = np.load(path)
        else:
            t0 = time.perf_counter()
            emb = self._load().encode(texts)  # type: ignore[attr-defined]
            print(f"# encoded {len(texts)} texts with {self.name} in {time.perf_counter() - t0:.1f} s", flush=True)
            self.cache.mkdir(parents=True, exist_ok=True)
            np.save(path, emb)
        for t, v in zip(texts, emb, strict=True):
            self.memo[t] = v
        return np.asarray(emb)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        missing = [t for t in texts if t not in self.memo]
        if missing:
            self.bulk(missing)
        return np.stack([self.memo[t] for t in texts])


def scores(labels: np.ndarray, truth: np.ndarray, min_askers: int = MIN_ASKERS) -> dict[str, float]:
    """ARI (clusters under min_askers questions count as singletons), purity and coverage of themes."""
    from sklearn.metrics import adjusted_rand_score

    sizes = np.bincount(labels)
    themed = sizes[labels] >= min_askers
    pred = np.where(themed, labels, labels.max() + 1 + np.arange(len(labels)))
    majority = 0
    for c in np.unique(labels[themed]):
        majority += Counter(truth[labels == c].tolist()).most_common(1)[0][1]
    return {"ari": float(adjusted_rand_score(truth, pred)),
            "purity": majority / max(int(themed.sum()), 1),
            "coverage": float(themed.mean()),
            "themes": float(len(np.unique(labels[themed])))}


def tune(enc: CachedEncoder, texts: list[str], intents: list[str], seeds: int, per_intent: int) -> None:
    emb_all = enc.bulk(texts)
    truth_all = np.array(intents)
    print(f"## tuning on train: {seeds} samples of {per_intent} questions per intent; mean over samples")
    print(f"{'linkage':9} {'best cut':>8} {'ARI':>6} {'purity':>7} {'coverage':>8} {'themes':>7}")
    curves: dict[str, np.ndarray] = {}
    for method in ("average", "complete"):
        curve = np.zeros((len(GRID), 4))
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            idx = np.concatenate([rng.choice(np.flatnonzero(truth_all == c),
                                             min(per_intent, int((truth_all == c).sum())), replace=False)
                                  for c in sorted(set(intents))])
            z = tree(emb_all[idx], method)
            for g, t in enumerate(GRID):
                s = scores(cut(z, len(idx), float(t)), truth_all[idx])
                curve[g] += np.array([s["ari"], s["purity"], s["coverage"], s["themes"]]) / seeds
        best = int(curve[:, 0].argmax())
        curves[method] = curve
        print(f"{method:9} {GRID[best]:>8.2f} {curve[best, 0]:>6.3f} {curve[best, 1]:>7.3f} "
              f"{curve[best, 2]:>8.3f} {curve[best, 3]:>7.1f}")
    print(f"### {LINKAGE} linkage on train, by cut")
    for g, t in enumerate(GRID):
        if g % 3 == 0:
            c = curves[LINKAGE][g]
            print(f"  cut {t:.2f}: ARI {c[0]:.3f}  purity {c[1]:.3f}  coverage {c[2]:.3f}  themes {c[3]:.1f}")


def evaluate(enc: CachedEncoder, texts: list[str], intents: list[str], threshold: float) -> None:
    truth = np.array(intents)
    emb = enc.bulk(texts)
    questions = [Asked(t, asker=i, id=i) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    themes = find_themes(questions, enc, threshold=threshold)  # type: ignore[arg-type]
    took = time.perf_counter() - t0
    labels = np.full(len(texts), -1)
    for k, th in enumerate(themes):
        labels[list(th.members)] = k
    pred = np.where(labels >= 0, labels, len(themes) + np.arange(len(texts)))
    s = scores(pred, truth, min_askers=1)
    s["coverage"] = float((labels >= 0).mean())
    s["themes"] = float(len(themes))
    s["purity"] = float(sum(Counter(truth[list(th.members)].tolist()).most_common(1)[0][1] for th in themes)
                        / max(sum(th.questions for th in themes), 1))
    print(f"## test: {len(texts)} questions, {len(set(intents))} intents, shipped cut {threshold:.2f} "
          f"({LINKAGE} linkage, >= {MIN_ASKERS} askers)")
    print(f"ARI {s['ari']:.3f}  purity {s['purity']:.3f}  coverage {s['coverage']:.3f}  themes {int(s['themes'])}"
          f"  (find_themes on cached embeddings: {took:.2f} s)")
    print("### other cuts on test (for reference; not used to choose)")
    z = tree(emb, LINKAGE)
    for t in (threshold - 0.1, threshold - 0.05, threshold + 0.05, threshold + 0.1):
        o = scores(cut(z, len(texts), float(t)), truth)
        print(f"  cut {t:.2f}: ARI {o['ari']:.3f}  purity {o['purity']:.3f}  coverage {o['coverage']:.3f}"
              f"  themes {int(o['themes'])}")
    print("### largest themes: askers, keyword, majority intent (share), label")
    for th in themes[:8]:
        top, n = Counter(truth[list(th.members)].tolist()).most_common(1)[0]
        print(f"  {th.askers:3d}  {th.keyword:14} {top} ({n / th.questions:.0%})  {th.label!r}")


def periods(enc: CachedEncoder, texts: list[str], intents: list[str], threshold: float) -> None:
    """Two periods from the test set (halves per intent): are the second half's themes paired right?"""
    truth = np.array(intents)
    rng = np.random.default_rng(0)
    first = np.zeros(len(texts), dtype=bool)
    for c in sorted(set(intents)):
        idx = np.flatnonzero(truth == c)
        first[rng.choice(idx, len(idx) // 2, replace=False)] = True
    halves = []
    for mask in (first, ~first):
        rows = np.flatnonzero(mask)
        qs = [Asked(texts[i], asker=int(i), id=int(i)) for i in rows]
        themes = find_themes(qs, enc, threshold=threshold)  # type: ignore[arg-type]
        majority = [Counter(truth[rows[list(th.members)]].tolist()).most_common(1)[0][0] for th in themes]
        halves.append((themes, dict(zip([id(t) for t in themes], majority, strict=True))))
    (before, maj_before), (now, maj_now) = halves
    changes = compare(before, now)
    paired = [c for c in changes if c.theme is not None and c.previous is not None]
    right = sum(maj_now[id(c.theme)] == maj_before[id(c.previous)] for c in paired)
    new = sum(c.status == "new" for c in changes)
    print(f"## compare: test halves (20 questions per intent each): {len(before)} themes before, {len(now)} now")
    print(f"paired {len(paired)} of {len(now)}; same majority intent {right}/{len(paired)}"
          f" ({right / max(len(paired), 1):.1%}); new {new}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/banking77")
    ap.add_argument("--encoder", default="all-MiniLM-L6-v2", choices=sorted(THRESHOLDS))
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "creatorbot-bench")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--per-intent", type=int, default=40)
    ap.add_argument("--threshold", type=float, default=None, help="the cut to report on test (default: shipped)")
    args = ap.parse_args()
    if not (args.data / "test.csv").exists():
        sys.exit(f"{args.data} has no test.csv: pass --data path/to/banking77")
    import torch

    print(f"# BANKING77 themes, {args.encoder}; torch threads {torch.get_num_threads()}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, load average {os.getloadavg()[0]:.1f}")
    enc = CachedEncoder(args.encoder, args.cache, args.cache / "data")
    train_x, train_y = load(args.data / "train.csv")
    test_x, test_y = load(args.data / "test.csv")
    tune(enc, train_x, train_y, args.seeds, args.per_intent)
    threshold = args.threshold if args.threshold is not None else THRESHOLDS[args.encoder]
    evaluate(enc, test_x, test_y, threshold)
    periods(enc, test_x, test_y, threshold)


if __name__ == "__main__":
    main()
