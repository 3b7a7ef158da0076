"""Sentiment for text the English model cannot read: multilingual-e5 with a LoRA adapter and a head.

The model ships in nlp/weights/sentiment-e5 (a LoRA adapter, a head and per-class offsets, made by
scripts/train_sentiment_zh.py); the older frozen-e5 linear head (3 x 384 weights) in
nlp/weights/sentiment-e5-head is used only when that is absent. The encoder is multilingual-e5-small
(nlp/multilingual.py; on the engine, nlp/engine.py merges the adapter into its export).
Trained on TweetEval (English) and SMP2020-EWECT Weibo posts mapped to three labels:
happy -> positive; neutral and surprise -> neutral (SMP2020's "surprise" is mostly rhetorical
questions and astonishment without a clear valence); angry, sad, fear -> negative.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nlp.encoder import Encoder
from nlp.language import needs_multilingual
from nlp.sentiment import LABELS, Prediction, tune_bias

SHIPPED_HEAD = Path(__file__).parent / "weights" / "sentiment-e5-head"  # frozen e5 + linear head (older)
SHIPPED_E5 = Path(__file__).parent / "weights" / "sentiment-e5"  # LoRA on e5 (preferred when present)
SMP_TO_3 = {"happy": 2, "neutral": 1, "surprise": 1, "angry": 0, "sad": 0, "fear": 0}


def load_smp(path: Path) -> tuple[list[str], list[int]]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [r["content"] for r in rows], [SMP_TO_3[r["label"]] for r in rows]


class HeadSentiment:
    """predict(texts) -> Prediction per text, from frozen embeddings and a linear head."""

    def __init__(self, encoder: Encoder, weights: np.ndarray, bias: np.ndarray, offsets: np.ndarray) -> None:
        self.encoder = encoder
        self.weights = weights
        self.bias = bias
        self.offsets = offsets

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        out: np.ndarray = self.encoder.encode(list(texts)) @ self.weights.T + self.bias
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        if not texts:
            return []
        z = self.logits(texts) + self.offsets
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return [Prediction(LABELS[int(r.argmax())], float(r[0]), float(r[1]), float(r[2])) for r in p]

    @classmethod
    def fit(cls, encoder: Encoder, texts: Sequence[str], labels: Sequence[int], c: float = 1.0,
            val: tuple[Sequence[str], Sequence[int]] | None = None) -> HeadSentiment:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        clf.fit(encoder.encode(list(texts)), np.asarray(labels))
        model = cls(encoder, clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32), np.zeros(3, np.float32))
        if val is not None:
            model.offsets = np.asarray(tune_bias(model.logits(val[0]), np.asarray(val[1])), dtype=np.float32)
        return model

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        np.savez(path / "head.npz", weights=self.weights, bias=self.bias, offsets=self.offsets)
        (path / "meta.json").write_text(json.dumps({"encoder": getattr(self.encoder, "name", "?"),
                                                    "labels": list(LABELS)}))

    @classmethod
    def load(cls, encoder: Encoder, path: Path = SHIPPED_HEAD) -> HeadSentiment:
        data = np.load(path / "head.npz")
        return cls(encoder, data["weights"], data["bias"], data["offsets"])


class Classifier(Protocol):
    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]: ...


class RoutedSentiment:
    """English text to the LoRA model; text it cannot read to the multilingual head (loaded lazily).

    `unknown` remains only for text neither model reads (no letters at all, or no multilingual head).
    """

    def __init__(self, english: Any, multilingual: Callable[[], Classifier] | None = None,
                 always: bool = False) -> None:
        self.english = english
        self._load_multilingual = multilingual
        self._multilingual: Classifier | None = None
        self.always = always  # every text to the multilingual model (routing = "multilingual")

    @property
    def multilingual(self) -> Classifier | None:
        if self._multilingual is None and self._load_multilingual is not None:
            self._multilingual = self._load_multilingual()
        return self._multilingual

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        """Route by script first (as the FAQ does), so mixed Chinese/Latin posts reach the multilingual head."""
        foreign = [i for i, t in enumerate(texts) if self.always or needs_multilingual(t, self.english.encoder)]
        head = self.multilingual if foreign else None
        routed = set(foreign) if head is not None else set()
        out: list[Prediction | None] = [None] * len(texts)
        english_idx = [i for i in range(len(texts)) if i not in routed]
        for i, p in zip(english_idx, self.english.predict([texts[i] for i in english_idx], batch_size), strict=True):
            out[i] = p
        if head is not None:
            for i, p in zip(foreign, head.predict([texts[i] for i in foreign]), strict=True):
                out[i] = p
        return [p for p in out if p is not None]
