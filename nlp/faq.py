"""The FAQ matcher: question -> one of the creator's answers, with a calibrated confidence.

`fit` embeds every example question and trains a multinomial logistic-regression head over the FAQ
entries. Its confidence is calibrated on held-out questions: k-fold over questions (in scope), plus
whole entries left out of training, whose questions play the follower asking something the FAQ
cannot answer. A small logistic model turns three signals (top probability, margin to the second
entry, cosine similarity to the nearest example of the chosen entry) into P(answer is right); the
threshold is the lowest one at which answered held-out questions reach `target_precision`.
`match` hands off (never guesses) when the confidence is under the threshold, the top two entries
are too close, or the text is mostly unreadable for the encoder.

The default signals ("rerank", DEFAULT_SIGNALS) add a second stage: a pairwise scorer, trained on the same
held-out folds, re-orders the head's top entries from their nearest examples and the lexical overlap of the
question with them (nlp/faq_rerank.py, nlp/lexical.py), and the confidence reads the scorer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.encoder import Encoder
from nlp.faq_data import FaqEntry
from nlp.faq_rerank import NEAREST, fit_scorer, mean_of_nearest, pair_features, rerank
from nlp.lexical import Lexical, Similarities
from nlp.monotone import fit_nonnegative_logistic

Progress = Callable[[str, int, int], None]
DEFAULT_THRESHOLD = 0.5
MIN_HELD_OUT = 20
# A question at least this similar to a question the creator (or a 👎) marked wrong for the chosen entry,
# and closer to it than to any example of that entry, is handed off ("marked wrong before").
NEGATIVE_SIMILARITY = 0.85
# At most this share of the questions held out to calibrate are the creator's confirmations (FaqMatcher.fit).
CONFIRMED_SHARE = 0.2
LEXICAL_FILE = "lexical.npz"  # the examples' hashed character n-grams and words, next to head.npz (LEXICAL signals)


@dataclass(frozen=True)
class Match:
    """The best entry for one question. `handoff` is True when the bot should ask the creator."""

    entry_id: str
    answer: str
    confidence: float
    margin: float
    handoff: bool
    reason: str
    second_id: str | None = None


# Share of simulated out-of-scope questions when choosing the threshold: what the precision target assumes
# about the traffic. 0.25 overshot the target on new data (BANKING77/HWU64 with 15 % out-of-scope questions:
# 97.3 / 96.3 % at a 95 % target, see benchmarks/faq_calibration.py); 0.15 lands on it.
OOS_SHARE = 0.15


@dataclass
class Calibration:
    temperature: float = 1.0
    # P(correct) = sigmoid(coef . [p1, margin, similarity] + intercept); identity on p1 by default
    coef: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    intercept: float = 0.0
    fitted: bool = False
    threshold: float = DEFAULT_THRESHOLD
    min_margin: float = 0.0
    source: str = "default"
    held_out: int = 0
    held_out_precision: float | None = None
    held_out_coverage: float | None = None
    signals: str = "basic"  # "basic": [p1, margin, similarity]; "rich": see SIGNALS
    rerank: list[float] = field(default_factory=list)  # the second stage's pairwise scorer ("rerank" signals)


@dataclass
class FaqMeta:
    base_model: str
    entry_ids: list[str]
    answers: list[str]
    calibration: Calibration
    n_examples: int
    trained_at: float = field(default_factory=time.time)
    train_seconds: float = 0.0
    finetuned: bool = False
    head: str = "lr"  # "lr": one logistic regression; "ensemble": one per encoder block, probabilities multiplied
    blocks: list[int] = field(default_factory=list)  # widths of the concatenated encoders' embeddings (ConcatEncoder)


HEADS = ("lr", "ensemble")
# "rich" adds to [p1, margin, similarity]: whether the nearest example belongs to the chosen entry, the similarity
# gap to the nearest example of any other entry, and the share of encoder blocks whose own head picks the same entry
# "wide" adds to "rich": the third probability and the entropy, the mean similarity to the chosen entry's three nearest
# examples, the share of the five nearest examples that belong to it, and the largest similarity to any example
# (+1.1 / +2.0 points answered on BANKING77 / HWU64 over 10 seeds, sd 4-6: not the default; docs/benchmarks.md);
# "lexical" adds to "wide" the character n-gram similarity of the question to the chosen entry's nearest example and
# its gap to the nearest example of any other entry (nlp/lexical.py);
# "rerank" re-orders the head's top entries with a pairwise scorer learned on the held-out folds (nlp/faq_rerank.py)
# and reads its confidence from the scorer
SIGNALS = ("basic", "rich", "wide", "lexical", "rerank")
WIDE = ("wide", "lexical")
LEXICAL = ("lexical", "rerank")  # the signals that need the examples' character n-grams and words
# what FaqMatcher.fit uses unless told: at a 95 % target on BANKING77 / HWU64 (10 per intent, 10 seeds) "rerank" answers
# 61.4 / 50.5 % of in-scope questions at 96.0 / 94.6 % precision, "basic" 60.2 / 40.7 % at 96.1 / 95.7 %
DEFAULT_SIGNALS = "rerank"


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class LinearHead:
    """Multinomial logistic regression over embeddings: logits = X @ W.T + b."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, n_classes: int, c: float = 10.0,
            init: LinearHead | None = None) -> LinearHead:
        """`init`: a head trained on similar data (the final one, for the calibration's folds) to start from: the
        same optimum is reached in a fraction of the iterations."""
        from sklearn.linear_model import LogisticRegression

        present = np.unique(y)
        if len(present) == 1:  # one entry: a constant head
            w = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
            b = np.full(n_classes, -10.0, dtype=np.float32)
            b[present[0]] = 10.0
            return cls(w, b)
        # Fewer examples than dimensions (a small FAQ, or concatenated encoders): the L2-regularised optimum lies in
        # the span of the examples, so solve in an orthonormal basis of it (the same solution, far fewer parameters)
        basis = np.linalg.qr(x.T.astype(np.float64))[0] if x.shape[0] < x.shape[1] else None
        xs = x @ basis if basis is not None else x
        clf = LogisticRegression(C=c, max_iter=3000, warm_start=init is not None)
        if init is not None and len(present) > 2:
            start = init.weights[present].astype(np.float64)
            clf.coef_ = start @ basis if basis is not None else start
            clf.intercept_ = init.bias[present].astype(np.float64)
        clf.fit(xs, y)
        w = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
        b = np.full(n_classes, -1e4, dtype=np.float32)  # classes unseen in this fold never win
        w[clf.classes_] = clf.coef_ @ basis.T if basis is not None else clf.coef_
        b[clf.classes_] = clf.intercept_
        return cls(w, b)

    def logits(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = x @ self.weights.T + self.bias
        return out


def _split(x: np.ndarray, blocks: Sequence[int]) -> list[np.ndarray]:
    """The embedding blocks of concatenated encoders, each renormalised."""
    out, start = [], 0
    for width in blocks:
        part = x[:, start : start + width]
        out.append(part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12))
        start += width
    return out


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    out: np.ndarray = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


class EnsembleHead:
    """One logistic regression per encoder block; logits are the mean of their log-probabilities (a product of
    experts), so the entry must look right to every encoder."""

    def __init__(self, heads: Sequence[LinearHead], blocks: Sequence[int]) -> None:
        self.heads = list(heads)
        self.blocks = list(blocks)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, n_classes: int, blocks: Sequence[int], c: float = 10.0,
            init: EnsembleHead | None = None) -> EnsembleHead:
        starts: list[LinearHead | None] = list(init.heads) if init is not None else [None] * len(blocks)
        return cls([LinearHead.fit(part, y, n_classes, c, start)
                    for part, start in zip(_split(x, blocks), starts, strict=True)], blocks)

    def block_logits(self, x: np.ndarray) -> list[np.ndarray]:
        return [h.logits(part) for h, part in zip(self.heads, _split(x, self.blocks), strict=True)]

    def logits(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.mean([_log_softmax(z) for z in self.block_logits(x)], axis=0)
        return out


Head = LinearHead | EnsembleHead


def _fit_head(kind: str, x: np.ndarray, y: np.ndarray, n: int, c: float, blocks: Sequence[int],
              init: Head | None = None) -> Head:
    if kind == "ensemble" and len(blocks) > 1:
        return EnsembleHead.fit(x, y, n, blocks, c, init if isinstance(init, EnsembleHead) else None)
    return LinearHead.fit(x, y, n, c, init if isinstance(init, LinearHead) else None)


def _votes(head: Head, x: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Share of the encoder blocks whose own head picks `best` (1.0 for a single head)."""
    if not isinstance(head, EnsembleHead):
        return np.ones(len(best), dtype=np.float32)
    picks = np.stack([z.argmax(axis=1) for z in head.block_logits(x)], axis=1)
    out: np.ndarray = (picks == best[:, None]).mean(axis=1).astype(np.float32)
    return out


def _prob_features(probs: np.ndarray, kind: str = "basic") -> np.ndarray:
    """The features that depend on the (temperature-scaled) probabilities: [p1, margin] (+ p3, entropy if wide)."""
    top = np.sort(probs, axis=1)[:, ::-1]
    p1 = top[:, 0]
    p2 = top[:, 1] if probs.shape[1] > 1 else np.zeros(len(probs))
    columns = [p1, p1 - p2]
    if kind in WIDE:
        p3 = top[:, 2] if probs.shape[1] > 2 else np.zeros(len(probs))
        columns += [p3, -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1)]
    return np.stack(columns, axis=1).astype(np.float32)


def _signals(probs: np.ndarray, x: np.ndarray, train_x: np.ndarray, train_y: np.ndarray,
             kind: str = "basic", head: Head | None = None,
             lexical: Similarities | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(predicted rows, `_prob_features` + [similarity to the nearest example of that entry] + "rich" extras)."""
    best = probs.argmax(axis=1)
    sims = x @ train_x.T  # rows are normalised: cosine similarity
    same = train_y[None, :] == best[:, None]
    nearest = np.where(same, sims, -1.0).max(axis=1)
    columns = [nearest]
    if kind != "basic":
        other = np.where(same, -1.0, sims).max(axis=1) if sims.shape[1] else np.full(len(best), -1.0)
        columns += [(nearest >= other).astype(np.float32), nearest - other,
                    _votes(head, x, best) if head is not None else np.ones(len(best), dtype=np.float32)]
    if kind in WIDE:
        top3 = mean_of_nearest(sims, same)  # the chosen entry's 3 nearest examples
        five = np.argsort(-sims, axis=1)[:, :5]
        columns += [top3, (train_y[five] == best[:, None]).mean(axis=1), sims.max(axis=1)]
    if kind == "lexical":
        assert lexical is not None, "lexical signals need the lexical similarities"
        mine = np.where(same, lexical.chars, 0.0).max(axis=1)
        columns += [mine, mine - np.where(same, 0.0, lexical.chars).max(axis=1, initial=0.0)]
    return best, np.concatenate([_prob_features(probs, kind), np.stack(columns, axis=1)], axis=1).astype(np.float32)


N_PROB_FEATURES = {"basic": 2, "rich": 2, "wide": 4, "lexical": 4}


def _confidence(features: np.ndarray, cal: Calibration) -> np.ndarray:
    if not cal.fitted:
        return features[:, 0]
    z = features @ np.asarray(cal.coef, dtype=np.float32) + cal.intercept
    out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


def _fit_confidence(features: np.ndarray, ok: np.ndarray, weights: np.ndarray,
                    monotone: bool) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) of the logistic regression from the signals to "the answer is right". The
    re-ranker's features all grow with the chosen entry's fit: its confidence is monotone (nlp/monotone.py)."""
    if monotone:
        return fit_nonnegative_logistic(features, ok, weights)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000).fit(features, ok, sample_weight=weights)
    return model.coef_[0], float(model.intercept_[0])


def _fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    best_t, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(5.0), 60)):
        p = _softmax(logits / t)[np.arange(len(y)), y]
        nll = -np.mean(np.log(np.clip(p, 1e-12, 1.0)))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float,
                     weights: np.ndarray | None = None) -> tuple[float, float, float]:
    """The lowest threshold whose answered set reaches `target` precision (optionally weighted).

    Returns (threshold, precision, coverage). If no threshold reaches it, the strictest one.
    """
    w = np.ones(len(confidence)) if weights is None else weights
    order = np.argsort(-confidence)
    conf = confidence[order]
    hits = np.cumsum(correct[order] * w[order])
    answered = np.cumsum(w[order])
    precision = hits / answered
    ok = np.where(precision >= target)[0]
    if len(ok) == 0:
        return float(conf[0]) + 1e-6, 0.0, 0.0
    k = int(ok.max())  # answering the top k+1 keeps precision >= target
    return float(conf[k]), float(precision[k]), float(answered[k] / answered[-1])


def _folds(labels: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """Assign each example a fold; classes with one example stay in training (fold -1)."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(labels), -1)
    for c in np.unique(labels):
        idx = np.where(labels == c)[0]
        if len(idx) < 2:
            continue
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            fold[i] = j % k
    return [np.where(fold == f)[0] for f in range(k)]


def _confirmed_not_held_out(texts: Sequence[str], confirmed: Collection[str], share: float, seed: int) -> np.ndarray:
    """Which questions are never held out: the confirmed ones beyond `share` of the held-out set."""
    is_confirmed = np.array([q in confirmed for q in texts], dtype=bool)
    picked = np.where(is_confirmed)[0]
    others = len(texts) - len(picked)
    room = len(picked) if share >= 1 else int(share / (1 - share) * others) if share > 0 else 0
    skip = is_confirmed.copy()
    skip[np.random.default_rng(seed).permutation(picked)[:room]] = False
    return skip


def traffic_weights(texts: Sequence[str], handed_off: Collection[str], share: float | None) -> np.ndarray:
    """Per question, its weight among the held-out questions: the ones that came from handoffs stand for `share` of
    the in-scope traffic (the questions the bot handed off lately), the others for the rest. Examples learned from
    handoffs are the hard tail of the traffic; unweighted they outnumber it as the FAQ grows and the threshold turns
    cautious (docs/benchmarks.md). None, or no handed-off example among them: every question weighs 1."""
    weights = np.ones(len(texts))
    from_handoffs = np.array([q in handed_off for q in texts], dtype=bool)
    if share is None or not from_handoffs.any() or from_handoffs.all():
        return weights
    share = min(max(share, 0.05), 0.95)
    weights[from_handoffs] = share / from_handoffs.mean()
    weights[~from_handoffs] = (1 - share) / (~from_handoffs).mean()
    return weights


class FaqMatcher:
    """fit / match / save / load. Entry ids are the creator's; the head works on integer rows."""

    def __init__(self, encoder: Encoder, head: Head, meta: FaqMeta, examples: np.ndarray,
                 example_rows: np.ndarray, negatives: np.ndarray | None = None,
                 negative_rows: np.ndarray | None = None, lexical: Lexical | None = None) -> None:
        self.encoder = encoder
        self.lexical = lexical  # the examples' character n-grams and words (LEXICAL signals only)
        self.head = head
        self.meta = meta
        self.examples = examples
        self.example_rows = example_rows
        # questions marked as not answered by an entry (embedded) and that entry's row
        self.negatives = negatives if negatives is not None else np.zeros((0, examples.shape[1]), np.float32)
        self.negative_rows = negative_rows if negative_rows is not None else np.zeros(0, dtype=np.int64)

    @property
    def calibration(self) -> Calibration:
        return self.meta.calibration

    @classmethod
    def fit(
        cls,
        entries: Sequence[FaqEntry],
        encoder: Encoder,
        *,
        target_precision: float = 0.95,
        min_margin: float = 0.0,
        c: float = 10.0,
        folds: int = 10,
        seed: int = 0,
        progress: Progress | None = None,
        negatives: Sequence[tuple[str, str]] = (),
        head: str = "lr",
        signals: str = DEFAULT_SIGNALS,
        confirmed: Collection[str] = (),
        confirmed_share: float = CONFIRMED_SHARE,
        handed_off: Collection[str] = (),
        handoff_share: float | None = None,
    ) -> FaqMatcher:
        """Train on every question of every entry. Needs at least one entry with one question.

        `negatives`: (entry id, question) pairs the creator marked as not answered by that entry;
        `match` hands off a question nearly the same as one of them (see NEGATIVE_SIMILARITY).
        Pairs of entries not in `entries` are ignored. They do not change the head or the calibration.
        `confirmed`: questions whose answer the creator confirmed. They all teach the head, but at most
        `confirmed_share` of the questions held out to calibrate the confidence are confirmed ones (chosen by `seed`):
        they were picked for being near the threshold and right, an easier sample than the traffic, and in
        numbers they pull the threshold down (0: never held out; 1: like any example; docs/benchmarks.md).
        `handed_off`: questions learned from handoffs; with `handoff_share` (the share of the in-scope questions the
        bot handed off lately) they weigh that share of the held-out questions that choose the threshold
        (traffic_weights).
        `head` and `signals` choose the classifier and the confidence's inputs (HEADS, SIGNALS); "ensemble" needs a
        ConcatEncoder (one head per encoder) and is a plain "lr" otherwise.
        """
        if head not in HEADS or signals not in SIGNALS:
            raise ValueError(f"head must be one of {HEADS} and signals one of {SIGNALS}")
        start = time.time()
        texts = [q for e in entries for q in e.questions]
        labels = np.array([i for i, e in enumerate(entries) for _ in e.questions])
        if not texts:
            raise ValueError("the FAQ has no questions to learn from")
        n = len(entries)
        if progress:
            progress("embedding questions", 0, 1)
        x = encoder.encode(texts)
        if progress:
            progress("embedding questions", 1, 1)
        blocks = [int(d) for d in getattr(encoder, "dims", [])] if head == "ensemble" else []
        if sum(blocks) != x.shape[1]:
            blocks = []
        from threadpoolctl import threadpool_limits

        # one BLAS thread: these matrices are small, and on a busy 2-core machine more threads only wait on each
        # other (the fake-encoder FAQ: 0.09 s instead of 6.4 s at load average 11)
        with threadpool_limits(limits=1, user_api="blas"):
            model = _fit_head(head, x, labels, n, c, blocks)  # first: the folds start from it
            skip = _confirmed_not_held_out(texts, confirmed, confirmed_share, seed) if confirmed else None
            lexical = Lexical.of(texts) if signals in LEXICAL else None
            calibration = cls._calibrate(x, labels, n, c, folds, seed, target_precision, progress, head, blocks,
                                         signals, model, skip, lexical,
                                         traffic_weights(texts, handed_off, handoff_share))
        calibration.min_margin = max(calibration.min_margin, min_margin)
        row_of = {e.id: i for i, e in enumerate(entries)}
        known = [(row_of[entry_id], q) for entry_id, q in negatives if entry_id in row_of and q.strip()]
        neg_x = encoder.encode([q for _, q in known]) if known else None
        neg_rows = np.array([r for r, _ in known], dtype=np.int64) if known else None
        meta = FaqMeta(base_model=encoder.name, entry_ids=[e.id for e in entries],
                       answers=[e.answer for e in entries], calibration=calibration,
                       n_examples=len(texts), train_seconds=time.time() - start,
                       head="ensemble" if isinstance(model, EnsembleHead) else "lr", blocks=blocks)
        return cls(encoder, model, meta, x, labels, neg_x, neg_rows, lexical)

    @staticmethod
    def _calibrate(x: np.ndarray, y: np.ndarray, n: int, c: float, k: int, seed: int, target: float,
                   progress: Progress | None, kind: str = "lr", blocks: Sequence[int] = (),
                   signals: str = "basic", init: Head | None = None,
                   skip: np.ndarray | None = None, lexical: Lexical | None = None,
                   traffic: np.ndarray | None = None) -> Calibration:
        if n < 2:
            return Calibration(source="default: one entry only", signals=signals)
        rng = np.random.default_rng(seed)
        everything = np.arange(len(y))
        # in scope: k folds over questions; out of scope: k folds over whole entries
        question_folds = [f for f in _folds(y, k, seed) if len(f)]
        entry_groups = np.array_split(rng.permutation(n), min(k, n)) if n >= 4 else []
        jobs = [(f, f, False) for f in question_folds]  # (tested on, left out of training, out of scope)
        jobs += [(g, g, True) for g in (np.where(np.isin(y, grp))[0] for grp in entry_groups if len(grp))]
        if skip is not None and skip.any():
            # never tested on; in scope they stay in training, out of scope their whole entry is still left out
            jobs = [(test[~skip[test]], test if oos_job else test[~skip[test]], oos_job) for test, _, oos_job in jobs]
            jobs = [job for job in jobs if len(job[0])]
        logits, extras, truth, correct, oos = [], [], [], [], []
        pairs: list[tuple[np.ndarray, np.ndarray]] = []  # "rerank": each job's candidates and pair features
        tested: list[np.ndarray] = []
        for j, (test, left_out, out_of_scope) in enumerate(jobs):
            train = np.setdiff1d(everything, left_out)
            if len(np.unique(y[train])) < 2:
                continue
            head = _fit_head(kind, x[train], y[train], n, c, blocks, init)
            z = head.logits(x[test])
            between = lexical.between(test, train) if lexical is not None else None
            if signals == "rerank":
                assert between is not None, "rerank signals need the lexical similarities"
                pairs.append(pair_features(_softmax(z), x[test] @ x[train].T, y[train], between))
            else:
                best, f = _signals(_softmax(z), x[test], x[train], y[train], signals, head, between)
                logits.append(z)
                extras.append(f[:, N_PROB_FEATURES[signals]:])  # what does not depend on the temperature
                correct.append(np.zeros(len(test)) if out_of_scope else (best == y[test]).astype(float))
            truth.append(y[test])
            oos.append(np.full(len(test), out_of_scope))
            tested.append(test)
            if progress:
                progress("calibrating on held-out questions", j + 1, len(jobs))
        is_oos = np.concatenate(oos) if oos else np.zeros(0, dtype=bool)
        in_scope = int((~is_oos).sum())
        if in_scope < MIN_HELD_OUT:
            return Calibration(source=f"default: fewer than {MIN_HELD_OUT} held-out questions", signals=signals)
        if signals == "rerank":
            cal = Calibration(source="held-out", held_out=in_scope, signals=signals)
            # the scorer learns which candidate is the asked entry; out-of-scope questions have none
            cal.rerank = fit_scorer([f for _, f in pairs], [(cands == t[:, None]) & ~o[:, None]
                                                            for (cands, _), t, o in zip(pairs, truth, oos, strict=True)])
            ranked, f_all = rerank(np.concatenate([cd for cd, _ in pairs]), np.concatenate([f for _, f in pairs]),
                                   cal.rerank)
            ok = ((ranked[:, 0] == np.concatenate(truth)) & ~is_oos).astype(float)
        else:
            ok = np.concatenate(correct)
            all_logits = np.concatenate(logits)
            temperature = _fit_temperature(all_logits[~is_oos], np.concatenate(truth)[~is_oos])
            cal = Calibration(temperature=temperature, source="held-out", held_out=in_scope, signals=signals)
            f_all = np.concatenate([_prob_features(_softmax(all_logits / temperature), signals),
                                    np.concatenate(extras)], axis=1)
        # weight simulated out-of-scope questions to OOS_SHARE of the mix
        weights = traffic[np.concatenate(tested)] if traffic is not None else np.ones(len(ok))
        if is_oos.any():
            weights[is_oos] = OOS_SHARE / (1 - OOS_SHARE) * weights[~is_oos].sum() / is_oos.sum()
        if len(np.unique(ok)) == 2:
            coef, cal.intercept = _fit_confidence(f_all, ok, weights, monotone=signals == "rerank")
            cal.coef = [float(v) for v in coef]
            cal.fitted = True
        conf = _confidence(f_all, cal)
        cal.threshold, cal.held_out_precision, cal.held_out_coverage = choose_threshold(
            conf, ok, target, weights)
        return cal

    def match(self, questions: Sequence[str]) -> list[Match]:
        x = self.encoder.encode(questions)
        cal = self.calibration
        probs = _softmax(self.head.logits(x) / cal.temperature)
        lexical = self.lexical.similarities(questions) if self.lexical is not None else None
        if cal.signals == "rerank":
            assert lexical is not None, "a rerank matcher keeps its examples' lexical views"
            ranked, feats = rerank(*pair_features(probs, x @ self.examples.T, self.example_rows, lexical), cal.rerank)
            nearest = feats[:, NEAREST]
            # the margin between the best and second entry, as the scorer's probabilities (like the head's p1 - p2)
            margins = 1.0 / (1.0 + np.exp(-feats[:, 0])) - 1.0 / (1.0 + np.exp(-(feats[:, 0] - feats[:, 1])))
        else:
            ranked = np.argsort(-probs, axis=1)[:, :2]
            _, feats = _signals(probs, x, self.examples, self.example_rows, cal.signals, self.head, lexical)
            nearest = feats[:, N_PROB_FEATURES[cal.signals]]
            margins = feats[:, 1]
        confidence = _confidence(feats, cal)
        marked_wrong = self._marked_wrong(x, ranked[:, 0], nearest)
        out = []
        unreadable = getattr(self.encoder, "unknown_share", None)
        for q, order, conf_value, margin_value, wrong in zip(questions, ranked, confidence, margins, marked_wrong,
                                                             strict=True):
            best = int(order[0])
            second = int(order[1]) if len(order) > 1 else None
            conf = float(conf_value)
            margin = float(margin_value)
            reason = "confident"
            if unreadable is not None and unreadable(q) > 0.5:
                reason = "unreadable for this model"
            elif conf < self.calibration.threshold:
                reason = "low confidence"
            elif margin < self.calibration.min_margin:
                reason = "ambiguous"
            elif wrong:
                reason = "marked wrong before"
            out.append(Match(entry_id=self.meta.entry_ids[best], answer=self.meta.answers[best],
                             confidence=conf, margin=margin, handoff=reason != "confident", reason=reason,
                             second_id=self.meta.entry_ids[second] if second is not None else None))
        return out

    def _marked_wrong(self, x: np.ndarray, best: np.ndarray, nearest_example: np.ndarray) -> np.ndarray:
        """Per question: nearly the same as a question marked wrong for its best entry, and closer to
        it than to every example of that entry."""
        if not len(self.negatives):
            return np.zeros(len(x), dtype=bool)
        sims = x @ self.negatives.T
        same = self.negative_rows[None, :] == best[:, None]
        nearest_negative = np.where(same, sims, -1.0).max(axis=1)
        out: np.ndarray = (nearest_negative >= NEGATIVE_SIMILARITY) & (nearest_negative > nearest_example)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        heads = self.head.heads if isinstance(self.head, EnsembleHead) else [self.head]
        arrays: dict[str, Any] = {"weights": heads[0].weights, "bias": heads[0].bias,
                                  "examples": self.examples.astype(np.float16), "example_rows": self.example_rows,
                                  "negatives": self.negatives.astype(np.float16), "negative_rows": self.negative_rows}
        for i, h in enumerate(heads):
            arrays[f"weights_{i}"], arrays[f"bias_{i}"] = h.weights, h.bias
        np.savez(p / "head.npz", **arrays)
        if self.lexical is not None:
            self.lexical.save(p / LEXICAL_FILE)
        (p / "meta.json").write_text(json.dumps(asdict(self.meta), ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, path: str | Path, encoder: Encoder) -> FaqMatcher:
        p = Path(path)
        data = np.load(p / "head.npz")
        raw: dict[str, Any] = json.loads((p / "meta.json").read_text())
        raw["calibration"] = Calibration(**raw["calibration"])
        meta = FaqMeta(**raw)
        head: Head = LinearHead(data["weights"], data["bias"])
        if meta.head == "ensemble" and meta.blocks:
            head = EnsembleHead([LinearHead(data[f"weights_{i}"], data[f"bias_{i}"]) for i in range(len(meta.blocks))],
                                meta.blocks)
        negatives = data["negatives"].astype(np.float32) if "negatives" in data.files else None  # none before
        lexical = Lexical.load(p / LEXICAL_FILE) if meta.calibration.signals in LEXICAL else None
        return cls(encoder, head, meta, data["examples"].astype(np.float32), data["example_rows"], negatives,
                   data["negative_rows"] if "negative_rows" in data.files else None, lexical)

    @staticmethod
    def read_meta(path: str | Path) -> dict[str, Any]:
        result: dict[str, Any] = json.loads((Path(path) / "meta.json").read_text())
        return result
