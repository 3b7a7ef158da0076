"""Experiment (not shipped): fine-tuning MiniLM as a cosine classifier for BANKING77 10-shot.

The class weights start at the normalised class centroids of the frozen embeddings, so training
starts from the nearest-centroid classifier and moves the encoder and the prototypes together.
It measured below frozen embeddings + logistic regression (docs/benchmarks.md), so the FAQ
matcher does not fine-tune the encoder.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_finetune_experiment.py SEED EPOCHS LR
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.encoder import TransformerEncoder

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 8
    lr: float = 4e-5
    head_lr: float = 2e-3
    batch_size: int = 32
    scale: float = 24.0
    label_smoothing: float = 0.1
    seed: int = 0
    max_steps: int = 0  # 0: no cap


def centroids(emb: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, dim) normalised mean embedding of each class (zero row for an empty class)."""
    out = np.zeros((n_classes, emb.shape[1]), dtype=np.float32)
    np.add.at(out, labels, emb)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def finetune_classifier(
    encoder: TransformerEncoder,
    texts: Sequence[str],
    labels: np.ndarray,
    n_classes: int,
    config: FinetuneConfig | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Train `encoder` in place on (texts, labels); return the learned (n_classes, dim) prototypes."""
    import torch

    config = config or FinetuneConfig()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    init = centroids(encoder.encode(texts), labels, n_classes)
    protos = torch.nn.Parameter(torch.from_numpy(init))
    model = encoder.model
    model.train()
    optim = torch.optim.AdamW([
        {"params": [p for p in model.parameters() if p.requires_grad], "lr": config.lr, "weight_decay": 0.01},
        {"params": [protos], "lr": config.head_lr, "weight_decay": 0.0},
    ])
    order = list(range(len(texts)))
    steps_per_epoch = (len(order) + config.batch_size - 1) // config.batch_size
    total = steps_per_epoch * config.epochs
    if config.max_steps:
        total = min(total, config.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / max(1, total // 10)) * max(0.0, (total - s) / total))
    y_all = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    step = 0
    while step < total:
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            if step >= total:
                break
            idx = order[start : start + config.batch_size]
            emb = encoder.pooled(encoder.tokenize([texts[i] for i in idx]))
            w = torch.nn.functional.normalize(protos, dim=-1)
            loss = loss_fn(config.scale * emb @ w.T, y_all[idx])
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            step += 1
            if progress:
                progress(step, total)
    model.eval()
    return torch.nn.functional.normalize(protos.detach(), dim=-1).numpy().astype(np.float32)


def main() -> None:
    import csv

    from sklearn.linear_model import LogisticRegression

    seed, epochs, lr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    data = Path(__file__).resolve().parents[2] / "shared/data/banking77"

    def load(name: str) -> tuple[list[str], list[str]]:
        with (data / name).open() as f:
            rows = list(csv.DictReader(f))
        return [r["text"] for r in rows], [r["category"] for r in rows]

    train_x, train_y = load("train.csv")
    test_x, test_y = load("test.csv")
    cats = sorted(set(train_y))
    index = {c: i for i, c in enumerate(cats)}
    y_all, y_test = np.array([index[c] for c in train_y]), np.array([index[c] for c in test_y])
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.where(y_all == c)[0], 10, replace=False) for c in range(len(cats))])
    x, y = [train_x[i] for i in idx], y_all[idx]
    enc = TransformerEncoder.base()
    frozen = LogisticRegression(C=10, max_iter=2000).fit(enc.encode(x), y)
    print("frozen + LR", (frozen.predict(enc.encode(test_x)) == y_test).mean())
    protos = finetune_classifier(enc, x, y, len(cats), FinetuneConfig(epochs=epochs, lr=lr, seed=seed))
    t = enc.encode(test_x)
    print("fine-tuned prototypes", ((t @ protos.T).argmax(1) == y_test).mean())
    tuned = LogisticRegression(C=10, max_iter=2000).fit(enc.encode(x), y)
    print("fine-tuned + LR", (tuned.predict(t) == y_test).mean())


if __name__ == "__main__":
    main()
