"""Question themes on BANKING77: each test question plays one follower's question, intents are the truth.

Prints, for the shipped clustering (`nlp.themes`: average linkage, cosine distance, a theme needs 3 askers):

* the threshold tuned on *train* questions (5 samples of 40 questions per intent, the size of the test set;
  the cut that maximises the mean adjusted Rand index), with complete linkage next to it;
* complete and ward linkage tuned the same way, and all three on week-sized samples of test (8 intents
  of 5 questions and 10 lone questions): ward's merge cost grows with cluster size, so a cut tuned on
  3,000 questions says little about a week of 50;
* on the 3,080 *test* questions at the shipped threshold: adjusted Rand index (ARI; unthemed questions count
  as singletons), purity (share of themed questions in their theme's majority intent), coverage (share of
  questions in a theme), how many themes (77 intents), and the same at a few other cuts;
* `compare` between two periods: questions split in two halves per intent; how many of the second
  half's themes are paired with a first-half theme, and how many of those pairs share their majority
  intent, by the minimum centroid similarity (chosen on a train sample, reported on test).

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
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.themes import (
    DEFAULT_SAME_THEME,
    LINKAGE,
    MIN_ASKERS,
    SAME_THEME,
    THRESHOLDS,
    Asked,
    compare,
    cut,
    find_themes,
    tree,
)

# cuts tried: fine where e5's compressed distances live, coarser above
GRID = np.round(np.concatenate([np.arange(0.02, 0.2, 0.005), np.arange(0.2, 0.9, 0.02)]), 3)


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


WARD_GRID = np.round(np.arange(0.3, 4.0, 0.1), 2)  # ward merge costs grow with cluster size: another scale


def merge_tree(emb: np.ndarray, method: str) -> np.ndarray:
    if method != "ward":
        return tree(emb, method)
    from scipy.cluster.hierarchy import linkage

    x = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return np.asarray(linkage(x.astype(np.float64), method="ward"))


Sampler = Callable[[np.random.Generator], np.ndarray]


def dense(truth: np.ndarray, per_intent: int) -> Sampler:
    """Every intent, up to per_intent questions each (the test set's shape)."""
    def sample(rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([rng.choice(np.flatnonzero(truth == c), min(per_intent, int((truth == c).sum())),
                                          replace=False) for c in sorted(set(truth.tolist()))])
    return sample


def week(truth: np.ndarray) -> Sampler:
    """A week's worth: 8 intents x 5 questions plus 10 lone questions of 10 other intents."""
    names = sorted(set(truth.tolist()))

    def sample(rng: np.random.Generator) -> np.ndarray:
        chosen = rng.choice(len(names), 18, replace=False)
        return np.concatenate([rng.choice(np.flatnonzero(truth == names[c]), 5 if k < 8 else 1, replace=False)
                               for k, c in enumerate(chosen)])
    return sample


def curves(emb: np.ndarray, truth: np.ndarray, sampler: Sampler, samples: int, seed: int = 0,
           methods: Sequence[str] = ("average", "complete", "ward")) -> dict[str, np.ndarray]:
    """Mean (ARI, purity, coverage, themes) per cut of each linkage's grid over `samples` samples."""
    out = {}
    for method in methods:
        grid = WARD_GRID if method == "ward" else GRID
        curve = np.zeros((len(grid), 4))
        for k in range(samples):
            idx = sampler(np.random.default_rng(seed + k))
            z = merge_tree(emb[idx], method)
            for g, t in enumerate(grid):
                s = scores(cut(z, len(idx), float(t)), truth[idx])
                curve[g] += np.array([s["ari"], s["purity"], s["coverage"], s["themes"]]) / samples
        out[method] = curve
    return out


def tune(enc: CachedEncoder, texts: list[str], intents: list[str], seeds: int, per_intent: int,
         weeks: int) -> dict[str, float]:
    """The ARI-best cut per linkage on train, dense and week-sized; returns {linkage: week-sized best cut}."""
    emb = enc.bulk(texts)
    truth = np.array(intents)
    best_cut: dict[str, float] = {}
    for what, sampler, n in ((f"{seeds} samples of {per_intent} questions per intent", dense(truth, per_intent),
                              seeds),
                             (f"{weeks} week-sized samples (8 intents x 5 questions + 10 lone questions)",
                              week(truth), weeks)):
        print(f"## tuning on train: {what}; mean over samples")
        print(f"{'linkage':9} {'best cut':>8} {'ARI':>6} {'purity':>7} {'coverage':>8} {'themes':>7}")
        found = curves(emb, truth, sampler, n)
        for method, curve in found.items():
            grid = WARD_GRID if method == "ward" else GRID
            best = int(curve[:, 0].argmax())
            best_cut[method] = float(grid[best])
            print(f"{method:9} {grid[best]:>8.3f} {curve[best, 0]:>6.3f} {curve[best, 1]:>7.3f} "
                  f"{curve[best, 2]:>8.3f} {curve[best, 3]:>7.1f}")
        best = int(found[LINKAGE][:, 0].argmax())
        print(f"### {LINKAGE} linkage, around its best cut")
        for g in range(max(best - 3, 0), min(best + 4, len(GRID))):
            c = found[LINKAGE][g]
            print(f"  cut {GRID[g]:.3f}: ARI {c[0]:.3f}  purity {c[1]:.3f}  coverage {c[2]:.3f}  themes {c[3]:.1f}")
    return best_cut


def weekly(enc: CachedEncoder, texts: list[str], intents: list[str], cuts: dict[str, float],
           samples: int) -> None:
    """Week-sized samples of test at the cuts chosen on train."""
    emb = enc.bulk(texts)
    truth = np.array(intents)
    sampler = week(truth)
    print(f"## test, {samples} week-sized samples (8 intents x 5 questions + 10 lone questions), cuts from train")
    for method, at in cuts.items():
        got = np.zeros(4)
        for k in range(samples):
            idx = sampler(np.random.default_rng(10_000 + k))
            s = scores(cut(merge_tree(emb[idx], method), len(idx), at), truth[idx])
            got += np.array([s["ari"], s["purity"], s["coverage"], s["themes"]]) / samples
        print(f"  {method:9} cut {at:.3f}: ARI {got[0]:.3f}  purity {got[1]:.3f}  share themed {got[2]:.3f}"
              f" (truth 0.800)  themes {got[3]:.1f} (truth 8)")


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
    print(f"## test: {len(texts)} questions, {len(set(intents))} intents, shipped cut {threshold:.3f} "
          f"({LINKAGE} linkage, >= {MIN_ASKERS} askers)")
    print(f"ARI {s['ari']:.3f}  purity {s['purity']:.3f}  coverage {s['coverage']:.3f}  themes {int(s['themes'])}"
          f"  (find_themes on cached embeddings: {took:.2f} s)")
    print("### other cuts on test (for reference; not used to choose)")
    z = tree(emb, LINKAGE)
    step = 0.05 if threshold > 0.2 else 0.01
    for t in (threshold - 2 * step, threshold - step, threshold + step, threshold + 2 * step):
        o = scores(cut(z, len(texts), float(t)), truth)
        print(f"  cut {t:.3f}: ARI {o['ari']:.3f}  purity {o['purity']:.3f}  coverage {o['coverage']:.3f}"
              f"  themes {int(o['themes'])}")
    print("### largest themes: askers, keyword, majority intent (share), label")
    for th in themes[:8]:
        top, n = Counter(truth[list(th.members)].tolist()).most_common(1)[0]
        print(f"  {th.askers:3d}  {th.keyword:14} {top} ({n / th.questions:.0%})  {th.label!r}")


def periods(enc: CachedEncoder, texts: list[str], intents: list[str], threshold: float, what: str) -> None:
    """Two periods from one set (halves per intent): are the second half's themes paired right?"""
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
    print(f"## compare: {what} split in halves per intent: {len(before)} themes before, {len(now)} now")
    print("min similarity: paired / themes now, and pairs with the same majority intent")
    shipped = SAME_THEME.get(enc.name, DEFAULT_SAME_THEME)
    for sim in sorted({0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.98, shipped}):
        changes = compare(before, now, min_similarity=sim)
        paired = [c for c in changes if c.theme is not None and c.previous is not None]
        right = sum(maj_now[id(c.theme)] == maj_before[id(c.previous)] for c in paired)
        mark = "  (shipped)" if sim == shipped else ""
        print(f"  {sim:.2f}: paired {len(paired)}/{len(now)}, same intent {right}/{len(paired)}"
              f" ({right / max(len(paired), 1):.1%}){mark}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/banking77")
    ap.add_argument("--encoder", default="all-MiniLM-L6-v2", choices=sorted(THRESHOLDS))
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "creatorbot-bench")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--per-intent", type=int, default=40)
    ap.add_argument("--weeks", type=int, default=100, help="week-sized samples")
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
    cuts = tune(enc, train_x, train_y, args.seeds, args.per_intent, args.weeks)
    threshold = args.threshold if args.threshold is not None else THRESHOLDS[args.encoder]
    evaluate(enc, test_x, test_y, threshold)
    weekly(enc, test_x, test_y, {**cuts, LINKAGE: threshold}, args.weeks)
    rng = np.random.default_rng(0)
    truth = np.array(train_y)
    sample = np.concatenate([rng.choice(np.flatnonzero(truth == c), min(args.per_intent, int((truth == c).sum())),
                                        replace=False) for c in sorted(set(train_y))])
    periods(enc, [train_x[i] for i in sample], [train_y[i] for i in sample], threshold,
            f"train sample ({args.per_intent} per intent; where SAME_THEME was chosen)")
    periods(enc, test_x, test_y, threshold, "test")


if __name__ == "__main__":
    main()
