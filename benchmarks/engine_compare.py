"""The same models on PyTorch (transformers, the reference) and on ONNX Runtime, fp32 and int8:
task accuracy next to speed and memory. Prints one table per model.

- MiniLM: BANKING77 accuracy of the FAQ head (logistic regression on `--shots` questions per
  intent, all 3,080 test questions); agreement (cosine) with the reference.
- Sentiment (merged LoRA adapter): TweetEval test macro-recall and accuracy.
- multilingual-e5: macro-recall of the shipped sentiment head on SMP2020 (usual, eval split).

Single-text latency (p50 over 200 texts) and throughput at batch 64 for each.

    OMP_WAIT_POLICY=PASSIVE flock /tmp/creatorbot-bench.lock python benchmarks/engine_compare.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SHARED = ROOT.parent / "shared" / "data"


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def speed(fn: Callable[[list[str]], object], texts: Sequence[str]) -> tuple[float, float]:
    """(p50 ms for one text, texts/s at batch 64)."""
    fn([texts[0]])
    lat = []
    for t in texts[:200]:
        start = time.perf_counter()
        fn([t])
        lat.append((time.perf_counter() - start) * 1000)
    sample = list(texts[:1024])
    start = time.perf_counter()
    for i in range(0, len(sample), 64):
        fn(sample[i : i + 64])
    return float(np.percentile(lat, 50)), len(sample) / (time.perf_counter() - start)


def row(name: str, accuracy: str, agreement: str, p50: float, rate: float, memory: float) -> None:
    print(f"{name:28s} {accuracy:>22s} {agreement:>18s} {p50:8.2f} ms {rate:8.0f}/s {memory:7.0f} MB", flush=True)


def header(title: str) -> None:
    print(f"\n## {title}\n{'engine':28s} {'accuracy':>22s} {'cosine to ref (min)':>18s} {'1 text':>11s} "
          f"{'batch 64':>10s} {'memory':>10s}", flush=True)


def minilm(data_dir: Path, shots: int) -> None:
    from sklearn.linear_model import LogisticRegression

    from nlp import engine
    from nlp.encoder import TransformerEncoder
    from nlp.faq_data import banking77_split

    tx, ty, sx, sy = banking77_split(SHARED / "banking77", shots)
    header(f"all-MiniLM-L6-v2: BANKING77 accuracy, {shots} questions per intent for the head, {len(sx)} test")
    ref_emb = None
    for name, make in (("PyTorch fp32 (reference)", TransformerEncoder.base),
                       ("ONNX Runtime fp32", lambda: engine.minilm(data_dir, "fp32")),
                       ("ONNX Runtime int8", lambda: engine.minilm(data_dir, "int8"))):
        gc.collect()
        before = rss_mb()
        enc = make()
        memory = rss_mb() - before
        a, b = enc.encode(tx), enc.encode(sx)
        clf = LogisticRegression(C=10, max_iter=3000).fit(a, ty)
        acc = float((clf.predict(b) == np.array(sy)).mean() * 100)
        ref_emb = b if ref_emb is None else ref_emb
        cos = (b * ref_emb).sum(1)
        p50, rate = speed(enc.encode, sx)
        row(name, f"{acc:.2f}", f"{cos.mean():.4f} ({cos.min():.4f})", p50, rate, memory)
        del enc


def sentiment(data_dir: Path, limit: int) -> None:
    from nlp.sentiment import LABELS, SentimentModel, load_tweeteval, macro_recall
    from nlp.sentiment_engine import EngineSentiment

    texts, labels = load_tweeteval(SHARED / "tweeteval_sentiment")["test"]
    if limit:
        texts, labels = texts[:limit], labels[:limit]
    truth = np.array(labels)
    header(f"sentiment (MiniLM + merged LoRA adapter): TweetEval test, {len(texts)} tweets, macro-recall / accuracy")
    ref_logits = None
    for name, make in (("PyTorch fp32 (reference)", SentimentModel.load),
                       ("ONNX Runtime fp32", lambda: EngineSentiment.load(data_dir, precision="fp32")),
                       ("ONNX Runtime int8", lambda: EngineSentiment.load(data_dir, precision="int8"))):
        gc.collect()
        before = rss_mb()
        model = make()
        memory = rss_mb() - before
        preds = model.predict(texts)
        pred = np.array([LABELS.index(p.label) if p.label in LABELS else 1 for p in preds])
        logits = np.array([[p.negative, p.neutral, p.positive] for p in preds])
        ref_logits = logits if ref_logits is None else ref_logits
        diff = np.abs(logits - ref_logits).max()
        p50, rate = speed(model.predict, texts)
        row(name, f"{macro_recall(pred, truth) * 100:.2f} / {(pred == truth).mean() * 100:.2f}",
            f"max |dp| {diff:.4f}", p50, rate, memory)
        del model


def e5(data_dir: Path, limit: int) -> None:
    from nlp import engine
    from nlp.encoder import TransformerEncoder
    from nlp.multilingual import multilingual_model_dir
    from nlp.sentiment import LABELS, macro_recall
    from nlp.sentiment_multilingual import HeadSentiment, load_smp

    texts, labels = load_smp(SHARED / "smp2020_ewect" / "usual_eval_labeled.txt")
    if limit:
        texts, labels = texts[:limit], labels[:limit]
    truth = np.array(labels)
    header(f"multilingual-e5-small: SMP2020 usual eval, {len(texts)} posts, sentiment head macro-recall / accuracy")
    ref_emb = None
    for name, make in (("PyTorch fp32 (reference)", lambda: TransformerEncoder(
                            multilingual_model_dir(data_dir), max_length=256, prefix="query: ")),
                       ("ONNX Runtime fp32", lambda: engine.multilingual(data_dir, "fp32")),
                       ("ONNX Runtime int8", lambda: engine.multilingual(data_dir, "int8"))):
        gc.collect()
        before = rss_mb()
        enc = make()
        memory = rss_mb() - before
        emb = enc.encode(texts)
        head = HeadSentiment.load(enc)
        pred = np.array([LABELS.index(p.label) for p in head.predict(texts)])
        ref_emb = emb if ref_emb is None else ref_emb
        cos = (emb * ref_emb).sum(1)
        p50, rate = speed(enc.encode, texts)
        row(name, f"{macro_recall(pred, truth) * 100:.2f} / {(pred == truth).mean() * 100:.2f}",
            f"{cos.mean():.4f} ({cos.min():.4f})", p50, rate, memory)
        del enc, head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a few minutes)")
    parser.add_argument("--only", choices=("minilm", "sentiment", "e5"), action="append")
    parser.add_argument("--data-dir", type=Path, help="where the exports are cached (default: a temporary one)")
    args = parser.parse_args()
    from nlp.engine import threads

    data_dir = args.data_dir or Path(tempfile.mkdtemp())
    print(f"# {os.cpu_count()} cores, ONNX Runtime threads {threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    only = args.only or ["minilm", "sentiment", "e5"]
    if "minilm" in only:
        minilm(data_dir, 10 if args.quick else 30)
    if "sentiment" in only:
        sentiment(data_dir, 3000 if args.quick else 0)
    if "e5" in only:
        e5(data_dir, 1000 if args.quick else 0)


if __name__ == "__main__":
    main()
