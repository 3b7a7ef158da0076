"""What the FAQ's English encoder costs in the bot's own engine: memory and latency of one process that has the FAQ
(English and Chinese matchers) and the comment sentiment live, for each FAQ encoder.

Each encoder runs in a fresh child process (so memory is its own): the factory (ONNX Runtime, as the bot runs it)
trains the sample FAQ, classifies one comment in each language, then answers `--questions` single English questions
one at a time (p50 / p99) and in batches of 50 (questions per second). Memory: resident now and the peak (VmHWM).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_encoder_cost.py [--encoders all-MiniLM-L6-v2,all-MiniLM-L6-v2+multilingual-e5-small]

The ONNX exports are made once under `--data-dir` (default: a folder in the system's temp dir) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ENCODERS = "all-MiniLM-L6-v2,all-MiniLM-L6-v2+multilingual-e5-small"


def _memory_mb() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def child(encoder: str, data_dir: Path, questions: int) -> dict[str, float | str]:
    import numpy as np

    from nlp.faq_data import load_faq
    from nlp.model_factory import ModelFactory

    faq = load_faq(ROOT / "bot" / "demo_data" / "faq.yaml") + load_faq(ROOT / "bot" / "demo_data" / "faq_zh.yaml")
    models = ModelFactory(data_dir, engine="onnx", faq_encoder=encoder)
    start = time.perf_counter()
    matcher = models.fit_faq(faq)
    fit_s = time.perf_counter() - start
    models.sentiment().predict(["Love this post!", "这个视频太差了"])
    asked = [q for e in load_faq(ROOT / "bot" / "demo_data" / "faq.yaml") for q in e.questions]
    asked = [f"{q.rstrip('?')} please?" for q in asked]  # not the examples themselves
    for q in asked[:5]:
        matcher.match([q])
    single = []
    for i in range(questions):
        t = time.perf_counter()
        matcher.match([asked[i % len(asked)]])
        single.append(1000 * (time.perf_counter() - t))
    batch = (asked * 50)[:50]
    t = time.perf_counter()
    for _ in range(5):
        matcher.match(batch)
    per_second = 250 / (time.perf_counter() - t)
    rss, peak = _memory_mb()
    return {"encoder": encoder, "fit_s": fit_s, "p50_ms": float(np.percentile(single, 50)),
            "p99_ms": float(np.percentile(single, 99)), "batch_per_s": per_second, "rss_mb": rss, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoders", default=ENCODERS, help="comma-separated FAQ encoders (a+b: side by side)")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "creatorbot-encoder-cost")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data_dir, args.questions)))
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"# ONNX Runtime engine, both languages live (FAQ en + zh, sentiment); load average "
          f"{os.getloadavg()[0]:.1f}; {args.questions} single questions")
    print("| FAQ encoder | fit s (demo FAQ) | one question p50 / p99 ms | batches of 50: questions/s | "
          "resident MB | peak MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for encoder in args.encoders.split(","):
        for _ in range(2):  # the first run of a new encoder also exports it: report the second
            out = subprocess.run([sys.executable, __file__, "--child", encoder, "--data-dir", str(args.data_dir),
                                  "--questions", str(args.questions)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {r['encoder']} | {r['fit_s']:.1f} | {r['p50_ms']:.1f} / {r['p99_ms']:.1f} | "
              f"{r['batch_per_s']:.0f} | {r['rss_mb']:.0f} | {r['peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
