"""Comparing two arms (two tags, two time slots) by the engagement of their posts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_POSTS = 3


@dataclass(frozen=True)
class ABResult:
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    ratio: float | None  # mean_a / mean_b
    ci_low: float | None  # 95 % bootstrap interval of the ratio
    ci_high: float | None
    p_value: float | None  # two-sided Mann-Whitney U (no normality assumed)
    enough_data: bool
    verdict: str


def compare(a: np.ndarray, b: np.ndarray, label_a: str = "A", label_b: str = "B", alpha: float = 0.05,
            seed: int = 0) -> ABResult:
    """Per-post engagement of arm A vs arm B; says plainly when there is not enough data."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    mean_a = float(a.mean()) if len(a) else 0.0
    mean_b = float(b.mean()) if len(b) else 0.0
    if len(a) < MIN_POSTS or len(b) < MIN_POSTS:
        need = f"{label_a}: {len(a)} posts, {label_b}: {len(b)} posts; at least {MIN_POSTS} each are needed"
        return ABResult(len(a), len(b), mean_a, mean_b, None, None, None, None, False,
                        f"Not enough data yet ({need}).")
    p = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(2000):
        ma = rng.choice(a, len(a)).mean()
        mb = rng.choice(b, len(b)).mean()
        if mb > 0:
            boots.append(ma / mb)
    ratio = mean_a / mean_b if mean_b > 0 else None
    lo, hi = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))) if boots else (None, None)
    if p < alpha:
        winner, loser = (label_a, label_b) if mean_a > mean_b else (label_b, label_a)
        verdict = (f"{winner} does better than {loser} (p = {p:.3f}): "
                   f"{max(mean_a, mean_b):.1f} vs {min(mean_a, mean_b):.1f} interactions per post.")
    else:
        verdict = (f"No clear difference yet (p = {p:.2f}): {label_a} {mean_a:.1f} vs {label_b} {mean_b:.1f} "
                   "interactions per post. More posts in each arm will tell.")
    return ABResult(len(a), len(b), mean_a, mean_b, ratio, lo, hi, p, True, verdict)
