"""The real `creatorbot run` against the fake Bot API (botapi_sandbox), Telegram's send limits lifted.

Measures, through the whole bot (poll, store, handle, answer, send):
- start-up: seconds from launch to "creatorbot is running" (models loaded), first and second start;
- reply latency p50/p95/p99 at fixed question rates (English), and for Chinese questions;
- burst: N questions from N followers at once (answered per second, last reply) and N comments at
  once (classified and stored per second);
- memory: resident set of the bot process (and, during start-up, any child it runs), peak and end.

Latency is from the moment the sandbox receives the update to the moment the bot's sendMessage
reaches the sandbox (both clocks are this process's perf_counter).

    OMP_WAIT_POLICY=PASSIVE flock /tmp/creatorbot-bench.lock python benchmarks/bot_throughput.py [--repo DIR]

`--repo` runs the bot from another checkout (for before/after comparisons); the sandbox and this
script stay the same.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botapi_sandbox.config import write_sandbox_config  # noqa: E402
from botapi_sandbox.server import BotApiSandbox, SandboxThread  # noqa: E402

UNLIMITED = """
[limits]
follower_messages_per_minute = 100000
send_per_chat_per_second = 100000.0
send_per_second = 100000.0
send_per_group_per_minute = 1000000
"""  # Telegram's send limits lifted: the benchmark measures the bot, not the pacing


class Tree:
    """Resident memory of a process and its children, sampled every 50 ms."""

    def __init__(self) -> None:
        self.pid = 0
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            return 0

    @staticmethod
    def _children(pid: int) -> list[int]:
        out: list[int] = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    out += [int(c) for c in f.read().split()]
        except OSError:
            pass
        return out

    def total_mb(self) -> float:
        if not self.pid:
            return 0.0
        pids, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            pids.append(p)
            todo += self._children(p)
        return sum(self._rss_kb(p) for p in pids) / 1024

    def own_mb(self) -> float:
        return self._rss_kb(self.pid) / 1024 if self.pid else 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mb = max(self.peak_mb, self.total_mb())

    def stop(self) -> None:
        self._stop.set()


class Bot:
    def __init__(self, repo: Path, config: Path, log: Path) -> None:
        self.repo, self.config, self.log = repo, config, log

    def cli(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "bot", "--config", str(self.config), *args], cwd=self.repo,
                              env=self.env(), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"creatorbot {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")

    def env(self) -> dict[str, str]:
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(self.repo),
               "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
        env.pop("CREATORBOT_TOKEN", None)
        return env

    def start(self, tree: Tree, timeout: float = 600) -> tuple[subprocess.Popen[bytes], float]:
        """Launch `creatorbot run`; returns the process and the seconds until it said it is running."""
        mark = self.log.stat().st_size if self.log.exists() else 0
        t0 = time.perf_counter()
        with self.log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "bot", "--config", str(self.config), "run"],
                                    stdout=out, stderr=subprocess.STDOUT, env=self.env(), cwd=self.repo)
        tree.pid = proc.pid
        # a bot that loads its sentiment model after it starts polling says when that is ready
        lines = [b"creatorbot is running"]
        if any(b"sentiment model ready" in path.read_bytes() for path in
               (self.repo / "bot/channel/sentiment.py", self.repo / "bot/runtime/worker.py") if path.exists()):
            lines.append(b"sentiment model ready")
        while time.perf_counter() - t0 < timeout:
            with self.log.open("rb") as f:
                f.seek(mark)
                text = f.read()
                if all(line in text for line in lines):
                    return proc, time.perf_counter() - t0
            if proc.poll() is not None:
                raise SystemExit(f"the bot exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.01)
        raise SystemExit(f"the bot did not start in time (waited for {lines}):\n{self.log.read_text()[-3000:]}")

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Questions:
    """Pushes questions from fresh followers and reads reply latencies off the sandbox."""

    def __init__(self, sandbox: BotApiSandbox) -> None:
        self.sandbox = sandbox
        self.next_user = 100_000
        self.pushed: dict[int, float] = {}

    def push(self, text: str) -> int:
        uid = self.next_user
        self.next_user += 1
        user = self.sandbox.user(uid, f"F{uid}")
        self.pushed[uid] = time.perf_counter()
        self.sandbox.send_private(user, text)
        return uid

    def replies(self) -> dict[int, float]:
        first: dict[int, float] = {}
        for call in self.sandbox.calls_of("sendMessage"):
            try:
                chat = int(call.params.get("chat_id"))
            except (TypeError, ValueError):
                continue
            if chat in self.pushed and chat not in first:
                first[chat] = call.received
        return first

    def wait(self, users: list[int], timeout: float) -> dict[int, float]:
        deadline = time.perf_counter() + timeout
        while True:
            got = self.replies()
            if all(u in got for u in users) or time.perf_counter() > deadline:
                return {u: (got[u] - self.pushed[u]) * 1000 for u in users if u in got}
            time.sleep(0.02)

    def at_rate(self, texts: list[str], rate: float, seconds: float) -> tuple[dict[int, float], int]:
        n = max(1, int(rate * seconds))
        users = []
        t0 = time.perf_counter()
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            users.append(self.push(texts[i % len(texts)]))
        return self.wait(users, 120), n


def pct(values: list[float]) -> str:
    if not values:
        return "no replies"
    p = np.percentile(values, [50, 95, 99])
    return f"p50 {p[0]:7.1f}  p95 {p[1]:7.1f}  p99 {p[2]:7.1f} ms"


def count(db: Path, sql: str) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose bot runs")
    parser.add_argument("--rates", default="10,50,200")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each fixed-rate run")
    parser.add_argument("--zh-rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1000, help="questions pushed at once")
    parser.add_argument("--comments", type=int, default=3000, help="comments pushed at once")
    args = parser.parse_args()
    repo = args.repo.resolve()
    english = [q for q in _faq_questions(ROOT / "bot/demo_data/faq.yaml")]
    with (ROOT / "benchmarks/faq_zh_test.csv").open(encoding="utf-8") as f:
        chinese = [r["question"] for r in csv.DictReader(f) if r["id"]]
    load = os.getloadavg()
    print(f"# bot from {repo} (commit {_commit(repo)}); {os.cpu_count()} cores; OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}; load average at start {load[0]:.1f} {load[1]:.1f}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bot-throughput-"))
    db = tmp / "bot.db"
    with SandboxThread(BotApiSandbox()) as sandbox:
        bot = Bot(repo, write_sandbox_config(tmp / "bot.toml", sandbox, f"sqlite:///{db}", extra=UNLIMITED), tmp / "bot.log")
        t = time.perf_counter()
        bot.cli("faq", "import", str(ROOT / "bot/demo_data/faq.yaml"))
        bot.cli("faq", "import", str(ROOT / "bot/demo_data/faq_zh.yaml"))
        bot.cli("faq", "train")
        print(f"FAQ (English + Chinese demo entries) imported and trained in {time.perf_counter() - t:.1f} s", flush=True)

        tree = Tree()
        proc, first = bot.start(tree)
        Bot.stop(proc)
        first_peak = tree.peak_mb
        tree.peak_mb = 0.0
        proc, second = bot.start(tree)
        print(f"start-up to 'running' (models loaded): first {first:.1f} s (peak {first_peak:.0f} MB with "
              f"children), second {second:.1f} s", flush=True)
        try:
            q = Questions(sandbox)
            warm, _ = q.at_rate(english + chinese, 20, 2)
            print(f"warm-up: {len(warm)} replies", flush=True)
            for rate in [float(r) for r in args.rates.split(",")]:
                lat, n = q.at_rate(english, rate, args.seconds)
                print(f"English at {rate:5.0f} q/s ({n:4d} questions, {len(lat):4d} answered): {pct(list(lat.values()))}",
                      flush=True)
            lat, n = q.at_rate(chinese, args.zh_rate, args.seconds)
            print(f"Chinese at {args.zh_rate:5.0f} q/s ({n:4d} questions, {len(lat):4d} answered): {pct(list(lat.values()))}",
                  flush=True)

            users = []
            t0 = time.perf_counter()
            for i in range(args.burst):
                users.append(q.push(english[i % len(english)]))
            lat = q.wait(users, 600)
            last = max(lat.values()) / 1000 if lat else float("nan")
            print(f"burst of {args.burst} questions from {args.burst} followers: {len(lat)} answered, "
                  f"{len(lat) / last:.0f} answered/s, last after {last:.1f} s; {pct(list(lat.values()))}", flush=True)

            _, forward = sandbox.channel_post("Benchmark post #bench")
            commenters = [sandbox.user(900_000 + i, f"C{i}") for i in range(50)]
            texts = ["Love this shot!", "This is terrible, unsubscribed.", "Where was this taken?",
                     "meh", "Absolutely stunning colours", "Not a fan of this edit", "太美了！", "What lens?"]
            before = count(db, "select count(*) from comments where sentiment is not null")
            t0 = time.perf_counter()
            for i in range(args.comments):
                sandbox.comment(forward, commenters[i % len(commenters)], f"{texts[i % len(texts)]} #{i}")
            stored_at = classified_at = None
            deadline = t0 + 600
            while time.perf_counter() < deadline:
                stored = count(db, "select count(*) from comments where text like '%#%' and post_id is not null")
                done = count(db, "select count(*) from comments where sentiment is not null") - before
                if stored_at is None and stored >= args.comments:
                    stored_at = time.perf_counter() - t0
                if done >= args.comments:
                    classified_at = time.perf_counter() - t0
                    break
                time.sleep(0.05)
            if classified_at is None:
                print(f"comments: only {done} of {args.comments} classified in 600 s", flush=True)
            else:
                print(f"burst of {args.comments} comments: stored in {stored_at or float('nan'):.1f} s, all classified "
                      f"after {classified_at:.1f} s: {args.comments / classified_at:.0f} comments/s classified and "
                      f"stored", flush=True)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
            print(f"memory of the bot process with both languages live: {tree.own_mb():.0f} MB resident now, "
                  f"peak {hwm:.0f} MB (second start; children peak {tree.peak_mb:.0f} MB)", flush=True)
            skipped = count(db, "select count(*) from raw_updates where status != 'done'")
            print(f"updates not done: {skipped}", flush=True)
        finally:
            Bot.stop(proc)
            tree.stop()
    load = os.getloadavg()
    print(f"# load average at end {load[0]:.1f} {load[1]:.1f}")


def _faq_questions(path: Path) -> list[str]:
    import yaml

    entries: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [q for e in entries for q in e["questions"]]


def _commit(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    main()
