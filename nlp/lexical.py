"""Lexical views of a question against the FAQ's example questions, next to the sentence encoder's.

Short commands ("wake me at 7", "turn the lights off") differ in a word the encoder blurs; the overlap of their
character 3-5-grams and of their words with an entry's examples tells the matcher what the embedding does not (issue
22, docs/benchmarks.md). Both are hashed (no vocabulary, no example text kept): character n-grams weighted by
sublinear counts times the inverse document frequency over the examples, rows normalised (a cosine in [0, 1]); words
as sets (the Jaccard overlap in [0, 1]).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import mmh3
import numpy as np

N_FEATURES = 2**18  # per view: characters, then words
_WHITE_SPACES = re.compile(r"\s\s+")
_WORD = re.compile(r"(?u)\b\w+\b")


def _char_ngrams(text: str) -> list[str]:
    """Character 3-5-grams inside word boundaries, each word padded with a space (scikit-learn's `char_wb`)."""
    out = []
    for word in _WHITE_SPACES.sub(" ", text).split():
        w = f" {word} "
        for n in range(3, 6):
            out += [w[i:i + n] for i in range(max(len(w) - n + 1, 1))]
            if len(w) <= n:  # a word no longer than n is counted once, and not again for longer n
                break
    return out


def _bucket(feature: str) -> int:
    """scikit-learn's FeatureHasher index of a string: MurmurHash3 (32-bit, seed 0), absolute value mod N_FEATURES."""
    h = mmh3.hash(feature.encode("utf-8"), 0, signed=True)
    return (2**31 - 1 - (N_FEATURES - 1)) % N_FEATURES if h == -2**31 else abs(h) % N_FEATURES


def counts(texts: Sequence[str]) -> Any:
    """Hashed character 3-5-gram counts, then hashed word presence (a scipy CSR matrix, one row per text).

    The same matrix as scikit-learn's HashingVectorizer (char_wb 3-5 and words, no sign, no norm; a test checks it),
    written out so that the bot answering questions never imports scikit-learn (about 70 MB resident)."""
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for text in texts:
        lower = text.lower()
        row = Counter(_bucket(g) for g in _char_ngrams(lower))
        row.update({N_FEATURES + b: 1 for b in {_bucket(w) for w in _WORD.findall(lower)}})
        indices += list(row)
        data += list(row.values())
        indptr.append(len(indices))
    matrix = csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int32),
                         np.asarray(indptr, dtype=np.int32)), shape=(len(texts), 2 * N_FEATURES))
    matrix.sort_indices()
    return matrix


def _normalize_rows(m: Any) -> Any:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return m.multiply(1.0 / norms[:, None]).tocsr()


class Similarities(NamedTuple):
    """Questions x examples: character n-gram cosine, word-set Jaccard."""

    chars: np.ndarray
    words: np.ndarray


class _Side(NamedTuple):
    """The examples as the questions meet them: the features they hold (sorted), and their weights transposed
    (features x examples, CSR) on those features only; the word count of each example."""

    char_features: np.ndarray
    chars: Any
    word_features: np.ndarray
    words: Any
    word_counts: np.ndarray

    @classmethod
    def of(cls, e_chars: Any, e_words: Any) -> _Side:
        cf, wf = np.unique(e_chars.indices), np.unique(e_words.indices)
        return cls(cf, e_chars[:, cf].T.tocsr(), wf, e_words[:, wf].T.tocsr(),
                   np.asarray(e_words.sum(axis=1)).reshape(1, -1))


def _project(m: Any, features: np.ndarray) -> Any:
    """The columns of CSR `m` that are in `features` (sorted), renumbered as positions in `features`."""
    from scipy.sparse import csr_matrix

    n = m.shape[0]
    if not len(features):
        return csr_matrix((n, 0), dtype=m.dtype)
    at = np.minimum(np.searchsorted(features, m.indices), len(features) - 1)
    keep = features[at] == m.indices
    rows = np.repeat(np.arange(n), np.diff(m.indptr))[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int32)
    return csr_matrix((m.data[keep], at[keep].astype(np.int32), indptr), shape=(n, len(features)))


class Lexical:
    """The examples' n-grams and words; `similarities(texts)` is each text against every example."""

    def __init__(self, example_counts: Any) -> None:
        self.counts = example_counts.tocsr()
        chars = self.counts[:, :N_FEATURES]
        # idf of the n-grams the examples hold; any other n-gram has df 0 and the same idf. Kept sparse: a dense
        # table of every hashed n-gram was 2 MB per language, per creator (most of a loaded head's memory)
        self.idf_features, df = np.unique(chars.indices, return_counts=True)
        self.idf_values = np.log((1 + chars.shape[0]) / (1 + df)) + 1.0
        self.idf_unseen = float(np.log(1 + chars.shape[0]) + 1.0)
        # the examples' side of every comparison, transposed once and kept to the features the examples hold
        # (transposing it for every question cost more than the product itself)
        self._against = _Side.of(*self._views(self.counts))

    def idf(self, features: np.ndarray) -> np.ndarray:
        """The idf of each hashed character n-gram in `features`."""
        if not len(self.idf_features):
            return np.full(len(features), self.idf_unseen)
        at = np.minimum(np.searchsorted(self.idf_features, features), len(self.idf_features) - 1)
        return np.where(self.idf_features[at] == features, self.idf_values[at], self.idf_unseen)

    @classmethod
    def of(cls, texts: Sequence[str]) -> Lexical:
        return cls(counts(texts))

    def _views(self, raw: Any) -> tuple[Any, Any]:
        chars = raw[:, :N_FEATURES].astype(np.float64).tocsr(copy=True)
        chars.data = (1.0 + np.log(chars.data)) * self.idf(chars.indices)
        words = raw[:, N_FEATURES:].astype(np.float64).tocsr(copy=True)
        words.data[:] = 1.0
        return _normalize_rows(chars), words

    @staticmethod
    def _compare(q_chars: Any, q_words: Any, against: _Side) -> Similarities:
        shared = (_project(q_words, against.word_features) @ against.words).toarray()
        sizes = np.asarray(q_words.sum(axis=1)).reshape(-1, 1) + against.word_counts
        return Similarities((_project(q_chars, against.char_features) @ against.chars).toarray().astype(np.float32),
                            (shared / np.maximum(sizes - shared, 1.0)).astype(np.float32))

    def between(self, rows: np.ndarray, columns: np.ndarray) -> Similarities:
        """The examples `rows` against the examples `columns` (the calibration's folds)."""
        chars, words = self._views(self.counts)
        return self._compare(chars[rows], words[rows], _Side.of(chars[columns], words[columns]))

    def similarities(self, texts: Sequence[str]) -> Similarities:
        return self._compare(*self._views(counts(texts)), self._against)

    def save(self, path: Path) -> None:
        from scipy.sparse import save_npz

        save_npz(path, self.counts.astype(np.float32))

    @classmethod
    def load(cls, path: Path) -> Lexical:
        from scipy.sparse import load_npz

        return cls(load_npz(path))
