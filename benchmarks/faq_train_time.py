"""Training a new FAQ version from scratch, as the bot does (ModelFactory.fit_faq): 100 entries x 10 questions.

Entries: the 77 BANKING77 intents and the first 23 HWU64 intents, 10 training questions each. Encoders are built
by the factory (torch engine: the ONNX export is a one-time cost measured elsewhere) and warmed up on one text
before the clock starts; the time covers embedding every question with every encoder, calibration and the head.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_train_time.py [--faq-encoder all-MiniLM-L6-v2+multilingual-e5-small]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from faq_encoders import CACHE, read  # noqa: E402

from nlp.faq_data import FaqEntry  # noqa: E402
from nlp.model_factory import FAQ_ENCODER, ModelFactory  # noqa: E402


def entries(n: int = 100, per: int = 10) -> list[FaqEntry]:
    out: dict[str, FaqEntry] = {}
    for folder in ("banking77", "hwu64"):
        for text, label in zip(*read(folder, "train"), strict=True):
            key = f"{folder}:{label}"
            if key not in out and len(out) >= n:
                continue
            entry = out.setdefault(key, FaqEntry(key, f"answer for {label}"))
            if len(entry.questions) < per:
                entry.questions.append(text)
    return list(out.values())[:n]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faq-encoder", default=FAQ_ENCODER)
    parser.add_argument("--data-dir", default=str(CACHE))
    args = parser.parse_args()
    faq = entries()
    models = ModelFactory(Path(args.data_dir), engine="torch", faq_encoder=args.faq_encoder)
    models.encoder(args.faq_encoder).encode(["warm up"])
    start = time.time()
    matcher = models.fit_faq(faq)
    took = time.time() - start
    cal = matcher.calibration
    print(f"{args.faq_encoder}: {len(faq)} entries x {sum(len(e.questions) for e in faq) // len(faq)} questions "
          f"trained in {took:.1f} s; threshold "
          f"{cal.threshold:.3f}, held-out precision {100 * (cal.held_out_precision or 0):.1f} %; "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
