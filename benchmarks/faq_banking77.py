"""FAQ matching on BANKING77: each intent is one FAQ entry.

Prints, in one run: 10-shot accuracy (5 seeds) and full-data accuracy of the shipped matcher next to
frozen-embedding baselines; an out-of-scope simulation (10 intents left out of training); p50/p99
single-question latency of the matcher and of the whole bot (question in the sandbox -> reply);
training time.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/faq_banking77.py [--data ../shared/data/banking77] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from nlp.encoder import TransformerEncoder
from nlp.faq import FaqMatcher
from nlp.faq_data import FaqEntry


class CachedEncoder:
    """Encodes each distinct text once (the benchmark re-fits on overlapping samples)."""

    def __init__(self, inner: TransformerEncoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.inner.encode(todo), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])

    def unknown_share(self, text: str) -> float:
        return self.inner.unknown_share(text)


def load(path: Path) -> tuple[list[str], list[str]]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def entries_for(texts: list[str], labels: list[str], keep: set[str] | None = None) -> list[FaqEntry]:
    by: dict[str, FaqEntry] = {}
    for t, c in zip(texts, labels, strict=True):
        if keep is None or c in keep:
            by.setdefault(c, FaqEntry(c, f"answer for {c}")).questions.append(t)
    return list(by.values())


def baselines(enc: CachedEncoder, entries: list[FaqEntry], test_x: list[str], test_y: list[str]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    x = enc.encode([q for e in entries for q in e.questions])
    y = np.array([i for i, e in enumerate(entries) for _ in e.questions])
    names = np.array([e.id for e in entries])
    t = enc.encode(test_x)
    centroid = np.stack([x[y == i].mean(0) for i in range(len(entries))])
    centroid /= np.linalg.norm(centroid, axis=1, keepdims=True)
    lr = LogisticRegression(C=10, max_iter=3000).fit(x, y)
    truth = np.array(test_y)
    return {"frozen centroid": float((names[(t @ centroid.T).argmax(1)] == truth).mean()),
            "frozen + LR (C=10)": float((names[lr.predict(t)] == truth).mean())}


def matcher_accuracy(m: FaqMatcher, test_x: list[str], test_y: list[str]) -> tuple[float, float, float]:
    """(top-1 accuracy, precision of answered, share answered)."""
    got = m.match(test_x)
    right = np.array([g.entry_id == y for g, y in zip(got, test_y, strict=True)])
    answered = np.array([not g.handoff for g in got])
    precision = float(right[answered].mean()) if answered.any() else float("nan")
    return float(right.mean()), precision, float(answered.mean())


def latency(m: FaqMatcher, questions: list[str], n: int = 300) -> tuple[float, float]:
    times = []
    for q in questions[:n]:
        t0 = time.perf_counter()
        m.match([q + " "])  # bypass the benchmark cache
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


async def bot_latency(m: FaqMatcher, questions: list[str], n: int = 100) -> tuple[float, float, float, float]:
    """One question at a time through the sandbox (in its own thread).

    Returns p50/p99 of the bot-side latency (getUpdates hands the update over -> the bot's
    sendMessage arrives) and p50/p99 end to end (question pushed -> reply recorded).
    """
    from bot.app import create_runtime
    from bot.config import parse_settings
    from botapi_sandbox.server import BotApiSandbox, SandboxThread

    thread = SandboxThread(BotApiSandbox())
    sandbox = thread.__enter__()
    tmp = Path(tempfile.mkdtemp())
    settings = parse_settings({
        "telegram": {"token": sandbox.token, "base_url": sandbox.root_url, "poll_timeout": 10},
        "creator": {"user_ids": [1]}, "database": {"url": f"sqlite:///{tmp / 'b.db'}"},
        "paths": {"data_dir": str(tmp / "data")}}, env={})
    from tests.fakes import KeywordSentiment

    runtime = create_runtime(settings, classifier_factory=KeywordSentiment)  # sentiment is not measured here
    assert runtime.services.faq_model is not None
    runtime.services.faq_model.matcher, runtime.services.faq_model.version = m, "bench"
    await runtime.start()
    sandbox.user(1, "Creator")
    end_to_end, bot_side = [], []
    try:
        for i, q in enumerate(questions[:n]):
            user = sandbox.user(10_000 + i, f"F{i}")
            t0 = time.perf_counter()
            sandbox.send_private(user, q)
            while not sandbox.sent.get(user["id"]):
                await asyncio.sleep(0.002)
            end_to_end.append((time.perf_counter() - t0) * 1000)
            update_id = max(sandbox.delivered_at)
            reply = next(c for c in reversed(sandbox.calls) if c.method == "sendMessage" and c.params.get("chat_id") == user["id"])
            bot_side.append((reply.received - sandbox.delivered_at[update_id]) * 1000)
            await asyncio.sleep(0.05)  # let the sender finish its bookkeeping
    finally:
        await runtime.stop()
        thread.__exit__(None, None, None)
    p = np.percentile
    return float(p(bot_side, 50)), float(p(bot_side, 99)), float(p(end_to_end, 50)), float(p(end_to_end, 99))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/banking77"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one seed, no full-data run")
    args = parser.parse_args()
    import torch

    data = Path(args.data)
    train_x, train_y = load(data / "train.csv")
    test_x, test_y = load(data / "test.csv")
    enc = CachedEncoder(TransformerEncoder.base())
    print(f"# BANKING77: {len(train_x)} train, {len(test_x)} test questions; torch threads "
          f"{torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    t0 = time.time()
    enc.encode(train_x + test_x)
    print(f"# encoded everything once in {time.time() - t0:.1f} s (cached for the runs below)")

    cats = sorted(set(train_y))
    seeds = 1 if args.quick else args.seeds
    rows: dict[str, list[float]] = {}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        idx = np.concatenate([rng.choice([i for i, c in enumerate(train_y) if c == cat], 10, replace=False)
                              for cat in cats])
        entries = entries_for([train_x[i] for i in idx], [train_y[i] for i in idx])
        for k, v in baselines(enc, entries, test_x, test_y).items():
            rows.setdefault(k, []).append(v)
        t = time.time()
        m = FaqMatcher.fit(entries, enc, seed=seed)
        fit_s = time.time() - t
        acc, prec, ans = matcher_accuracy(m, test_x, test_y)
        rows.setdefault("matcher top-1", []).append(acc)
        rows.setdefault("matcher precision of answered", []).append(prec)
        rows.setdefault("matcher share answered", []).append(ans)
        rows.setdefault("matcher fit seconds (embeddings cached)", []).append(fit_s)
    print(f"\n## 10-shot, {seeds} seed(s): mean ± sd")
    for k, v in rows.items():
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        scale = 1 if "seconds" in k else 100
        print(f"{k:45s} {np.mean(v) * scale:6.1f} ± {sd * scale:.1f}")

    if not args.quick:
        entries = entries_for(train_x, train_y)
        print("\n## full data")
        for k, v in baselines(enc, entries, test_x, test_y).items():
            print(f"{k:45s} {v * 100:6.1f}")
        t = time.time()
        m = FaqMatcher.fit(entries, enc)
        print(f"{'matcher fit seconds (embeddings cached)':45s} {time.time() - t:6.1f}")
        acc, prec, ans = matcher_accuracy(m, test_x, test_y)
        print(f"{'matcher top-1':45s} {acc * 100:6.1f}\n{'matcher precision of answered':45s} {prec * 100:6.1f}"
              f"\n{'matcher share answered':45s} {ans * 100:6.1f}")

    # out of scope: 10 intents never seen in training
    rng = np.random.default_rng(123)
    held = set(rng.choice(cats, 10, replace=False))
    keep = set(cats) - held
    for label, sample in (("10-shot", 10), ("full", 0)):
        if args.quick and sample == 0:
            continue
        if sample:
            idx = np.concatenate([rng.choice([i for i, c in enumerate(train_y) if c == cat], sample, replace=False)
                                  for cat in sorted(keep)])
            entries = entries_for([train_x[i] for i in idx], [train_y[i] for i in idx])
        else:
            entries = entries_for(train_x, train_y, keep)
        m = FaqMatcher.fit(entries, enc)
        got = m.match(test_x)
        oos = np.array([y in held for y in test_y])
        handed = np.array([g.handoff for g in got])
        right = np.array([g.entry_id == y for g, y in zip(got, test_y, strict=True)])
        answered_in = ~handed & ~oos
        print(f"\n## out of scope ({label}, 67 intents trained, 10 held out), threshold "
              f"{m.calibration.threshold:.3f}")
        print(f"{'out-of-scope questions handed off':45s} {handed[oos].mean() * 100:6.1f}")
        print(f"{'precision of answered in-scope questions':45s} {right[answered_in].mean() * 100:6.1f}")
        print(f"{'in-scope questions answered':45s} {answered_in.sum() / (~oos).sum() * 100:6.1f}")
        print(f"{'precision of all answered (incl. OOS errors)':45s} {right[~handed].mean() * 100:6.1f}")

    # latency and training time from scratch (no cache): 100 entries x 10 questions
    fresh = TransformerEncoder.base()
    rng = np.random.default_rng(7)
    idx = np.concatenate([rng.choice([i for i, c in enumerate(train_y) if c == cat], 10, replace=False)
                          for cat in cats])
    entries = entries_for([train_x[i] for i in idx], [train_y[i] for i in idx])
    t = time.time()
    m = FaqMatcher.fit(entries, fresh)
    print(f"\n## training from scratch: {len(entries)} entries x 10 questions in {time.time() - t:.1f} s")
    p50, p99 = latency(m, test_x)
    print(f"{'matcher single question p50 / p99 ms':45s} {p50:6.1f} / {p99:.1f}")
    b50, b99, e50, e99 = asyncio.run(bot_latency(m, test_x))
    print(f"{'bot-side update -> sendMessage p50 / p99 ms':45s} {b50:6.1f} / {b99:.1f}")
    print(f"{'end to end incl. sandbox p50 / p99 ms':45s} {e50:6.1f} / {e99:.1f}")


if __name__ == "__main__":
    main()
