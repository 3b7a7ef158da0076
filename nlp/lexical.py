"""Lexical views of a question against the FAQ's example questions, next to the sentence encoder's.

Short commands ("wake me at 7", "turn the lights off") differ in a word the encoder blurs; the overlap of their
character 3-5-grams and of their words with an entry's examples tells the matcher what the embedding does not (issue
22, docs/benchmarks.md). Both are hashed (no vocabulary, no example text kept): character n-grams weighted by
sublinear counts times the inverse document frequency over the examples, rows normalised (a cosine in [0, 1]); words
as sets (the Jaccard overlap in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

N_FEATURES = 2**18  # per view: characters, then words


def counts(texts: Sequence[str]) -> Any:
    """Hashed character 3-5-gram counts, then hashed word presence (a scipy CSR matrix, one row per text)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer

    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=N_FEATURES, alternate_sign=False,
                              norm=None)
    words = HashingVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b", n_features=N_FEATURES, binary=True,
                              alternate_sign=False, norm=None)
    return hstack([chars.transform(list(texts)), words.transform(list(texts))]).tocsr()


class Similarities(NamedTuple):
    """Questions x examples: character n-gram cosine, word-set Jaccard."""

    chars: np.ndarray
    words: np.ndarray


class Lexical:
    """The examples' n-grams and words; `similarities(texts)` is each text against every example."""

    def __init__(self, example_counts: Any) -> None:
        self.counts = example_counts.tocsr()
        chars = self.counts[:, :N_FEATURES]
        df = np.bincount(chars.indices, minlength=N_FEATURES)
        self.idf = np.log((1 + chars.shape[0]) / (1 + df)) + 1.0
        self.chars, self.words = self._views(self.counts)

    @classmethod
    def of(cls, texts: Sequence[str]) -> Lexical:
        return cls(counts(texts))

    def _views(self, raw: Any) -> tuple[Any, Any]:
        from sklearn.preprocessing import normalize

        chars = raw[:, :N_FEATURES].astype(np.float64).tocsr(copy=True)
        chars.data = (1.0 + np.log(chars.data)) * self.idf[chars.indices]
        words = raw[:, N_FEATURES:].astype(np.float64).tocsr(copy=True)
        words.data[:] = 1.0
        return normalize(chars), words

    @staticmethod
    def _compare(q_chars: Any, q_words: Any, e_chars: Any, e_words: Any) -> Similarities:
        shared = (q_words @ e_words.T).toarray()
        sizes = np.asarray(q_words.sum(axis=1)).reshape(-1, 1) + np.asarray(e_words.sum(axis=1)).reshape(1, -1)
        return Similarities((q_chars @ e_chars.T).toarray().astype(np.float32),
                            (shared / np.maximum(sizes - shared, 1.0)).astype(np.float32))

    def between(self, rows: np.ndarray, columns: np.ndarray) -> Similarities:
        """The examples `rows` against the examples `columns` (the calibration's folds)."""
        return self._compare(self.chars[rows], self.words[rows], self.chars[columns], self.words[columns])

    def similarities(self, texts: Sequence[str]) -> Similarities:
        return self._compare(*self._views(counts(texts)), self.chars, self.words)

    def save(self, path: Path) -> None:
        from scipy.sparse import save_npz

        save_npz(path, self.counts.astype(np.float32))

    @classmethod
    def load(cls, path: Path) -> Lexical:
        from scipy.sparse import load_npz

        return cls(load_npz(path))
