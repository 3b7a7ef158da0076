"""The inference engine: the encoders on ONNX Runtime, without torch or transformers at run time.

Each model is exported once (nlp/onnx_export.py, in a child process so torch never enters the
bot's memory) into `<data_dir>/models/onnx/<name>-<hash>/`, where the hash covers the source
weights, the export format and the precision: new weights (a retrained sentiment adapter, another
package version) get a new directory; stale ones are removed. The transformers path
(nlp/encoder.py) stays the reference; tests check the two agree.

Precision per model was chosen by measured task accuracy (docs/benchmarks.md, "Inference engine").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlp.versions import write_atomically

log = logging.getLogger(__name__)

FORMAT = 1  # bump when nlp/onnx_export.py writes something different
MINILM = "all-MiniLM-L6-v2"
E5 = "multilingual-e5-small"
SENTIMENT = "sentiment-minilm"
SENTIMENT_E5 = "sentiment-e5"
# Measured on BANKING77 (MiniLM), the Chinese FAQ set and SMP2020 (e5), TweetEval (sentiment).
PRECISION = {MINILM: "int8", E5: "fp32", SENTIMENT: "int8", SENTIMENT_E5: "int8"}
MAX_LENGTH = {MINILM: 128, E5: 256, SENTIMENT: 64, SENTIMENT_E5: 128}


class EngineError(Exception):
    pass


_children_lock = threading.Lock()
_stopping = False  # set once by stop_exports: the process is shutting down


def threads() -> int:
    """Threads of one model call: CREATORBOT_THREADS (or the older CREATORBOT_TORCH_THREADS), else one.

    One thread costs less CPU per text than two at every batch size (MiniLM int8 on 2 cores: 2.3 against
    3.3 ms for one question, 1.4 against 1.6 ms each in a batch of 32; e5: 11.5 against 14.3 ms), and the
    bot's own Python and its database want the other core; two only shorten a lone long call (e5: 8.8
    against 11.6 ms). docs/benchmarks.md, "The cost of one question"."""
    n = os.environ.get("CREATORBOT_THREADS") or os.environ.get("CREATORBOT_TORCH_THREADS")
    return int(n) if n else 1


def _file_sha256(path: Path, memo: dict[str, str]) -> str:
    """A file's sha256, remembered by (path, size, mtime) so a start does not reread 90 MB."""
    st = path.stat()
    stamp = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    if stamp not in memo:
        sha = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                if _stopping:  # a first start's hashing must not hold up a shutdown
                    raise EngineError("shutting down")
                sha.update(chunk)
        memo[stamp] = sha.hexdigest()
    return memo[stamp]


def _sha256(paths: Sequence[Path], extra: str = "", memo_file: Path | None = None) -> str:
    memo: dict[str, str] = {}
    if memo_file is not None and memo_file.exists():
        try:
            memo = json.loads(memo_file.read_text())
        except ValueError:
            memo = {}
    known = len(memo)
    sha = hashlib.sha256(extra.encode())
    for path in paths:
        sha.update(path.name.encode() + _file_sha256(path, memo).encode())
    if memo_file is not None and len(memo) != known:
        write_atomically(memo_file, json.dumps(memo))
    return sha.hexdigest()[:16]


@dataclass(frozen=True)
class Export:
    """What to export and the arguments for nlp/onnx_export.py."""

    name: str
    kind: str
    sources: tuple[Path, ...]
    args: tuple[str, ...]
    extra: str = ""
    max_length: int = 128

    def key(self, precision: str, memo_file: Path | None = None) -> str:
        return _sha256(self.sources, f"{FORMAT}:{self.kind}:{precision}:{self.max_length}:{self.extra}", memo_file)


def minilm_export() -> Export:
    from nlp.encoder import base_model_path

    path = base_model_path(MINILM)
    return Export(MINILM, "minilm", (path / "config.json", path / "tokenizer.json", path / "model.safetensors"),
                  ("--model-dir", str(path)), max_length=MAX_LENGTH[MINILM])


def sentiment_export(model_dir: Path) -> Export:
    from nlp.encoder import base_model_path

    base = base_model_path(json.loads((model_dir / "meta.json").read_text()).get("base_model", MINILM))
    return Export(SENTIMENT, "sentiment",
                  (base / "config.json", base / "tokenizer.json", base / "model.safetensors",
                   model_dir / "adapter" / "adapter_config.json", model_dir / "adapter" / "adapter_model.safetensors",
                   model_dir / "head.pt"),
                  ("--model-dir", str(base), "--adapter", str(model_dir)), max_length=MAX_LENGTH[SENTIMENT])


def e5_export() -> Export:
    from nlp.multilingual import PACKAGE_VERSION, WEIGHTS_SHA256, package_weights

    # the package file's hash is pinned (and checked during the export): no need to read 72 MB per start
    return Export(E5, "e5", (), (), extra=f"{PACKAGE_VERSION}:{WEIGHTS_SHA256}:{package_weights().stat().st_size}",
                  max_length=MAX_LENGTH[E5])


def e5_sentiment_export(model_dir: Path) -> Export:
    """multilingual-e5 with the Chinese sentiment model's LoRA merged (nlp/weights/sentiment-e5)."""
    base = e5_export()
    return Export(SENTIMENT_E5, "e5-sentiment",
                  (model_dir / "adapter" / "adapter_config.json", model_dir / "adapter" / "adapter_model.safetensors",
                   model_dir / "head.pt"),
                  ("--adapter", str(model_dir)), extra=base.extra, max_length=MAX_LENGTH[SENTIMENT_E5])


_export_lock = threading.Lock()
Runner = Callable[[list[str]], None]


_children: set[subprocess.Popen[str]] = set()


def allow_exports() -> None:
    """Undo `stop_exports` (a runtime starting again in the same process)."""
    global _stopping
    with _children_lock:
        _stopping = False


def stop_exports() -> None:
    """Terminate exports still running and start no more (the process is shutting down; the next
    start redoes them)."""
    global _stopping
    with _children_lock:
        _stopping = True
        for child in _children:
            child.terminate()


def run_export(args: list[str]) -> None:
    """`python -m nlp.onnx_export ARGS` in a child process (torch's memory goes when it exits)."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    with _children_lock:
        if _stopping:
            raise EngineError(f"not exporting {args[0]}: shutting down")
        child = subprocess.Popen([sys.executable, "-m", "nlp.onnx_export", *args], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, env=env)
        _children.add(child)
    try:
        _, err = child.communicate()
    finally:
        _children.discard(child)
    if child.returncode != 0:
        raise EngineError(f"exporting {args[0]} failed (exit {child.returncode}):\n{err[-3000:]}")


def exported(data_dir: Path, spec: Export, precision: str | None = None, runner: Runner = run_export) -> Path:
    """The export directory for `spec`, exporting it first (once) if needed; earlier exports of the
    same model (other weights, other format) are removed."""
    precision = precision or PRECISION[spec.name]
    root = data_dir / "models" / "onnx"
    root.mkdir(parents=True, exist_ok=True)
    with _export_lock:  # hashing too: a second caller finds the first one's hashes remembered
        key = spec.key(precision, root / "hashes.json")
        out = root / f"{spec.name}-{precision}-{key}"
        if not (out / "engine.json").exists():
            root.mkdir(parents=True, exist_ok=True)
            _remove_abandoned(root)
            log.info("exporting %s to ONNX (%s), once", spec.name, precision)
            runner([spec.kind, str(out), *spec.args, "--precision", precision,
                    "--max-length", str(spec.max_length), "--source-hash", key])
            if not (out / "engine.json").exists():
                raise EngineError(f"exporting {spec.name} left no {out / 'engine.json'}")
            for old in root.glob(f"{spec.name}-{precision}-*"):
                if old != out and ".partial" not in old.name:
                    shutil.rmtree(old, ignore_errors=True)
    return out


def _remove_abandoned(root: Path) -> None:
    """Half-written exports of processes that are gone (killed while exporting)."""
    for partial in root.glob("*.partial-*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(partial, ignore_errors=True)


def _session(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # threads sleep when idle instead of spinning: the bot shares small machines with a database
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def gather_q4(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows of a Q4_0 table (per row: blocks of fp16 scale + 16 bytes) as float32, shape ids.shape + (dim,)."""
    rows = table[ids.reshape(-1)]  # (n, blocks * 18) uint8: a copy of just these rows
    blocks = rows.reshape(len(rows), -1, 18)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)  # (n, blocks, 1)
    qs = blocks[:, :, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    out = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return out.reshape(*ids.shape, -1)


class _Pieces:
    """A `tokenizers` tokenizer behind the small interface the engine needs."""

    def __init__(self, path: Path, max_length: int, unk: str) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.unk = self.tokenizer.token_to_id(unk)

    def batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    def pieces(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ids


class _Unigram:
    def __init__(self, path: Path, max_length: int) -> None:
        from nlp.multilingual import UnigramTokenizer

        self.tokenizer = UnigramTokenizer.load(path)
        self.max_length = max_length
        self.unk = self.tokenizer.unk

    def batch(self, texts: list[str]) -> list[list[int]]:
        return [self.tokenizer.encode(t, self.max_length) for t in texts]

    def pieces(self, text: str) -> list[int]:
        return self.tokenizer.pieces(text)


class OnnxEncoder:
    """Mean-pooled, normalised embeddings from an exported directory (the `Encoder` protocol)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = path
        meta = json.loads((path / "engine.json").read_text())
        self.meta = meta
        self.name = name or path.name
        self.dim = int(meta["dim"])
        self.prefix = str(meta["prefix"])
        self.max_length = int(meta["max_length"])
        self.precision = str(meta["precision"])
        self.tokenizer: _Pieces | _Unigram = (
            _Unigram(path / "vocab.json", self.max_length) if (path / "vocab.json").exists()
            else _Pieces(path / "tokenizer.json", self.max_length, meta["unk"]))
        self._pad = int(meta["pad_id"])
        self._words: np.ndarray | None = None
        # The runtime keeps its largest batch's buffers: e5's (12 layers, up to 256 tokens) at 64 long
        # Chinese texts took the process from 470 to 1,040 MB; at 16 it stays near 700 MB.
        self.max_batch = 64
        if meta["input"] == "embeds":
            self._words = np.load(path / "word_q4.npy", mmap_mode="r")
            self.max_batch = 16
        self.session = _session(path / "model.onnx")

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        rows = self.tokenizer.batch([self.prefix + t for t in texts])
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        x = gather_q4(self._words, ids) if self._words is not None else ids
        out: np.ndarray = self.session.run(None, {"x": x, "attention_mask": mask})[0]
        return out

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths per batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batch_size = min(batch_size, self.max_batch)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._run([texts[i] for i in idx])
        return out

    def unknown_share(self, text: str) -> float:
        """Share of word pieces this vocabulary cannot read (0.0 .. 1.0)."""
        ids = self.tokenizer.pieces(text)
        if not ids:
            return 1.0
        unk = self.tokenizer.unk
        return sum(1 for i in ids if i == unk) / len(ids)


def minilm(data_dir: Path, precision: str | None = None) -> OnnxEncoder:
    return OnnxEncoder(exported(data_dir, minilm_export(), precision), name=MINILM)


def multilingual(data_dir: Path, precision: str | None = None) -> OnnxEncoder:
    return OnnxEncoder(exported(data_dir, e5_export(), precision), name=E5)
