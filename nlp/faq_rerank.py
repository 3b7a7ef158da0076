"""The FAQ matcher's second stage ("rerank" signals, issue 22): a pairwise look at the head's top entries.

The head (logistic regression over the embeddings) proposes its top K entries for a question. For each candidate a
pairwise scorer reads what the head does not see on its own: the similarity to the entry's nearest example, the mean
of its three nearest, its centroid, the gap to the nearest example of another entry, and the character n-gram
and word overlap with the entry's examples (nlp/lexical.py). The scorer is a logistic regression trained on the held-out
folds of the creator's own examples (the same folds that calibrate the confidence), so it learns which candidate is
right from questions it did not train on. The answer is the best-scored candidate; the confidence reads its score,
the gap to the second candidate and its own features. After DNNC (Zhang et al. 2020, a pairwise classifier over
question-example pairs) and the dual-encoder idea of Casanueva et al. 2020 (two views of a question beat one).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlp.lexical import Similarities
from nlp.monotone import fit_nonnegative_logistic

K = 5  # candidates per question
# per candidate: log probability, is the head's first, nearest example, mean of 3 nearest, centroid, gap to the
# nearest example of another entry, character similarity to the nearest example, its gap, word overlap with the nearest
# example, log of the top probability
N_PAIR = 10
NEAREST = 4  # the column of the chosen candidate's nearest-example similarity in rerank's confidence features


def mean_of_nearest(sims: np.ndarray, mine: np.ndarray, k: int = 3) -> np.ndarray:
    """Per question, the mean similarity to its `k` nearest examples among `mine` (-1 where it has none)."""
    own = -np.sort(-np.where(mine, sims, -np.inf), axis=1)[:, :k]
    found = np.isfinite(own)
    out: np.ndarray = np.where(found.any(axis=1),
                               np.where(found, own, 0.0).sum(axis=1) / np.maximum(found.sum(axis=1), 1), -1.0)
    return out


def pair_features(probs: np.ndarray, sims: np.ndarray, train_y: np.ndarray,
                  lexical: Similarities) -> tuple[np.ndarray, np.ndarray]:
    """(candidates (n, k): entry rows, features (n, k, N_PAIR)). `sims` / `lexical`: question x example
    similarities."""
    n, k = len(probs), min(K, probs.shape[1])
    cands = np.argsort(-probs, axis=1)[:, :k]
    top_p = np.log(np.clip(probs.max(axis=1), 1e-9, 1.0))
    feats = np.zeros((n, k, N_PAIR), dtype=np.float32)
    for j in range(k):
        c = cands[:, j]
        mine = train_y[None, :] == c[:, None]
        nearest = np.where(mine, sims, -np.inf).max(axis=1, initial=-1.0)
        top3 = mean_of_nearest(sims, mine)
        centroid = np.where(mine, sims, 0.0).sum(axis=1) / np.maximum(mine.sum(axis=1), 1)
        other = np.where(mine, -1.0, sims).max(axis=1, initial=-1.0)
        char_mine = np.where(mine, lexical.chars, 0.0).max(axis=1, initial=0.0)
        char_other = np.where(mine, 0.0, lexical.chars).max(axis=1, initial=0.0)
        words = np.where(mine, lexical.words, 0.0).max(axis=1, initial=0.0)
        feats[:, j] = np.stack([np.log(np.clip(probs[np.arange(n), c], 1e-9, 1.0)), np.full(n, float(j == 0)),
                                nearest, top3, centroid, nearest - other, char_mine, char_mine - char_other, words, top_p],
                               axis=1)
    return cands, feats


def fit_scorer(feats: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> list[float]:
    """Pairwise logistic regression (coefficients, then the intercept) over held-out candidates. Every feature is
    one where more means a likelier candidate, so no coefficient may go negative (nlp/monotone.py)."""
    x = np.concatenate([f.reshape(-1, N_PAIR) for f in feats])
    y = np.concatenate([r.reshape(-1) for r in right])
    if len(np.unique(y)) < 2:  # nothing to learn from: the head's order
        return [0.0] * N_PAIR + [0.0]
    coef, intercept = fit_nonnegative_logistic(x, y)
    return [float(v) for v in coef] + [intercept]


def rerank(cands: np.ndarray, feats: np.ndarray, scorer: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(entry rows best first (n, k), confidence features [score, gap to the second, the chosen candidate's
    features])."""
    w = np.asarray(scorer[:-1], dtype=np.float32)
    # an untrained scorer: the head's probabilities (the uncalibrated confidence of the other signals)
    scores = feats @ w + scorer[-1] if w.any() else np.exp(feats[:, :, 0])
    order = np.argsort(-scores, axis=1)
    rows = np.arange(len(cands))
    first = scores[rows, order[:, 0]]
    second = scores[rows, order[:, 1]] if scores.shape[1] > 1 else first - 10.0
    chosen = feats[rows, order[:, 0]]
    return (np.take_along_axis(cands, order, axis=1),
            np.concatenate([np.stack([first, first - second], axis=1), chosen], axis=1).astype(np.float32))
