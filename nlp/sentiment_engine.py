"""The shipped sentiment model on ONNX Runtime: the merged adapter exported once (nlp/engine.py),
the head and offsets in numpy. Predicts what `SentimentModel.predict` does, without torch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.engine import Export, OnnxEncoder, exported, sentiment_export
from nlp.sentiment import SHIPPED, Prediction, SentimentMeta, SentimentModel, predictions


class EngineSentiment:
    def __init__(self, encoder: OnnxEncoder, weights: np.ndarray, bias: np.ndarray, meta: SentimentMeta) -> None:
        self.encoder = encoder
        self.weights = weights
        self.bias = bias
        self.meta = meta

    @classmethod
    def load(cls, data_dir: Path, path: Path = SHIPPED, precision: str | None = None,
             spec: Export | None = None) -> EngineSentiment:
        """Exported (once per version of the weights) into `data_dir`, then loaded from there.

        `spec`: how to export `path` (default: a LoRA adapter on MiniLM)."""
        out = exported(data_dir, spec or sentiment_export(path), precision)
        head = np.load(out / "head.npz")
        return cls(OnnxEncoder(out, name=f"sentiment:{path.name}"), head["weights"], head["bias"], SentimentModel.read_meta(path))

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out: np.ndarray = self.encoder.encode(texts, batch_size) @ self.weights.T + self.bias
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        if not texts:
            return []
        return predictions(texts, self.logits(texts, batch_size), self.meta, self.encoder)
