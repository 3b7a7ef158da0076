"""CPU of the bot process per answered question, and where it goes.

The real `creatorbot run` (SQLite, one process) against the sandbox Bot API with Telegram's send limits lifted,
like benchmarks/bot_throughput.py. Three phases, each measured on its own from the bot's own CPU clock
(utime + stime of every thread, /proc/PID/stat), never wall time:

- `english`: English FAQ questions from fresh followers at `--rate` per second for `--seconds`;
- `burst`: `--burst` English questions from as many followers, pushed at once;
- `mix`: the same rate of a fixed mix (per 20 updates: 12 English questions, 3 Chinese, 2 small talk, 1 that is
  handed off to the creator, 2 comments under a channel post).

Each phase runs twice: once measured, once under py-spy (sampling its Python stacks at `--rate-hz`; its own CPU
would otherwise count against the bot). The profile splits the measured CPU into intake (getUpdates, parse,
store), processing (claims, handlers, transactions), model (the encoders and heads), sending (outbox claim,
sendMessage, marking it sent) and everything else, by the frames each sample holds; the 15 heaviest frames
(self time) and functions (inclusive) are written to `--out`/cost-<phase>.txt.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/cost_per_question.py [--repo DIR] [--out DIR]

`--repo` runs the bot from another checkout (before/after on the same machine).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_throughput import (  # noqa: E402
    UNLIMITED,
    Bot,
    Questions,
    Tree,
    _commit,
    _faq_questions,
    count,
)
from botapi_sandbox.config import write_sandbox_config  # noqa: E402
from botapi_sandbox.server import BotApiSandbox, SandboxThread  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
SMALL_TALK = ["hi!", "thanks a lot", "hello there", "thank you!"]
HANDED_OFF = ["Would you review the portfolio site I built last week?", "Can I pay you to edit my wedding album?"]
COMMENTS = ["Love this shot!", "This is terrible, unsubscribed.", "Where was this taken?", "Absolutely stunning",
            "Not a fan of this edit", "太美了！"]

# (part, substrings of a frame): the first part whose pattern appears anywhere in a sample's stack wins,
# so a model call made from a handler counts as model, and a database call made by the sender as sending.
PARTS = [
    ("model", ("nlp/", "onnxruntime", "sentence_transformers", "torch/", "tokenizers")),
    ("sending", ("bot/runtime/sender.py", "bot/runtime/bot_api.py", "outbox_queue.py")),
    ("intake", ("bot/runtime/intake.py", "bot/runtime/poller.py", "bot/runtime/webhook.py", "store_raw_updates")),
    ("processing", ("bot/runtime/processor.py", "bot/kernel/", "bot/faq/", "bot/channel/", "bot/inbox/",
                    "bot/topics/", "bot/privacy/", "bot/store/", "telegram/ext/")),
]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of the whole line)


PLUMBING = ("threading.py", "asyncio/", "concurrent/", "runpy", "<frozen", "bot/__main__.py", "bot/cli/main.py")


def short(frame: str, repo: Path = ROOT) -> str:
    """A frame without this machine's folders: `Session.run (onnxruntime/capi/...:406)`, `handle (bot/...:12)`."""
    frame = re.sub(r"\(/\S*?/(?:site-packages|python3\.\d+)/", "(", frame)
    return frame.replace(f"({repo}/", "(")


def part_of(stack: str) -> str:
    return next((name for name, marks in PARTS if any(m in stack for m in marks)), "other")


class Profile:
    """py-spy's raw (collapsed) stacks of one phase."""

    def __init__(self, path: Path) -> None:
        self.stacks: Counter[str] = Counter()
        for line in path.read_text().splitlines() if path.exists() else []:
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                self.stacks[stack] += int(n)

    def total(self) -> int:
        return sum(self.stacks.values())

    def shares(self) -> dict[str, float]:
        parts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            parts[part_of(stack)] += n
        total = self.total() or 1
        return {name: parts[name] / total for name, _ in [*PARTS, ("other", ())]}

    def top(self, n: int = 15, repo: Path = ROOT) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        for stack, k in self.stacks.items():
            frames = [f for f in stack.split(";") if f]
            if not frames:
                continue
            own[short(frames[-1], repo)] += k
            for f in {short(f, repo).rsplit(":", 1)[0] + ")" for f in frames}:
                if not any(f"({lib}" in f for lib in PLUMBING):  # every sample is under these
                    inclusive[f] += k
        return own.most_common(n), inclusive.most_common(n)


class Phases:
    def __init__(self, sandbox: BotApiSandbox, english: list[str], chinese: list[str]) -> None:
        self.sandbox, self.english, self.chinese = sandbox, english, chinese
        self.q = Questions(sandbox)
        _, self.forward = sandbox.channel_post("Benchmark post #bench")
        self.commenters = [sandbox.user(900_000 + i, f"C{i}") for i in range(50)]
        self.comments = 0

    def english_at(self, rate: float, seconds: float) -> int:
        return len(self.q.at_rate(self.english, rate, seconds)[0])

    def burst(self, n: int) -> int:
        users = [self.q.push(self.english[i % len(self.english)]) for i in range(n)]
        return len(self.q.wait(users, 600))

    def mix(self, rate: float, seconds: float) -> int:
        plan = (["en"] * 12 + ["zh"] * 3 + ["talk"] * 2 + ["handoff"] + ["comment"] * 2)
        users = []
        t0 = time.perf_counter()
        for i in range(max(1, int(rate * seconds))):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            kind = plan[i % len(plan)]
            if kind == "comment":
                self.comments += 1
                self.sandbox.comment(self.forward, self.commenters[i % 50], f"{COMMENTS[i % len(COMMENTS)]} #{i}")
                continue
            texts = {"en": self.english, "zh": self.chinese, "talk": SMALL_TALK, "handoff": HANDED_OFF}[kind]
            users.append(self.q.push(texts[i % len(texts)]))
        return len(self.q.wait(users, 120))


def measure(proc: subprocess.Popen[bytes], run: Callable[[], int], settle: float = 1.0) -> tuple[float, int]:
    """CPU seconds the bot spent from just before `run` until it went quiet again, and what `run` returned."""
    before = cpu_seconds(proc.pid)
    answered = run()
    time.sleep(settle)  # what the last replies left to do (marking them sent) is part of their cost
    return cpu_seconds(proc.pid) - before, answered


def deferred_dms(proc: subprocess.Popen[bytes], db: Path, idle_per_second: float, patience: float = 600) -> None:
    """The direct messages' sentiment, which waits for a quiet spell (`[sentiment] dm_quiet_seconds`): the CPU
    the bot spends once the phases are over until every DM has its label, beyond its idle CPU, per DM."""
    waiting = "select count(*) from direct_messages where direction = 'in' and sentiment is null and text is not null"
    n = count(db, waiting)
    if not n:
        print("deferred DM sentiment: none waited", flush=True)
        return
    before, t0 = cpu_seconds(proc.pid), time.perf_counter()
    while count(db, waiting) and time.perf_counter() - t0 < patience:
        time.sleep(0.5)
    spent = time.perf_counter() - t0
    cpu = cpu_seconds(proc.pid) - before - idle_per_second * spent
    left = count(db, waiting)
    print(f"deferred DM sentiment: {n - left} of {n} direct messages classified {spent:.0f} s after the phases, "
          f"{cpu / max(1, n - left) * 1000:.2f} ms of CPU per DM beyond idle", flush=True)


def spy(pid: int, out: Path, hz: int) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", str(hz), "--nonblocking", "--full-filenames", "--format", "raw",
                             "--output", str(out), "--duration", "600"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_spy(p: subprocess.Popen[bytes]) -> None:
    import signal

    p.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose bot runs")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--rate-hz", type=int, default=250, help="py-spy's samples per second")
    parser.add_argument("--out", type=Path, default=None, help="where the profiles go (default: a new temporary folder)")
    parser.add_argument("--phases", default="english,burst,mix")
    parser.add_argument("--quiet-after", type=float, default=40.0,
                        help="seconds after the start before measuring (the start's one-off jobs are done)")
    args = parser.parse_args()
    repo = args.repo.resolve()
    out = (args.out or Path(tempfile.mkdtemp(prefix="cost-per-question-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    english = _faq_questions(ROOT / "bot/demo_data/faq.yaml")
    with (ROOT / "benchmarks/faq_zh_test.csv").open(encoding="utf-8") as f:
        chinese = [r["question"] for r in csv.DictReader(f) if r["id"]]
    load = os.getloadavg()
    print(f"# bot from {repo} (commit {_commit(repo)}); {os.cpu_count()} cores; OMP_WAIT_POLICY="
          f"{os.environ.get('OMP_WAIT_POLICY')}; load average at start {load[0]:.1f} {load[1]:.1f}; profiles in {out}",
          flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="cost-per-question-run-"))
    db = tmp / "bot.db"
    with SandboxThread(BotApiSandbox()) as sandbox:
        bot = Bot(repo, write_sandbox_config(tmp / "bot.toml", sandbox, f"sqlite:///{db}", extra=UNLIMITED), tmp / "bot.log")
        bot.cli("faq", "import", str(ROOT / "bot/demo_data/faq.yaml"))
        bot.cli("faq", "import", str(ROOT / "bot/demo_data/faq_zh.yaml"))
        bot.cli("faq", "train")
        tree = Tree()
        proc, _ = bot.start(tree)  # the first start exports the models; measured starts are warm
        Bot.stop(proc)
        proc, _ = bot.start(tree)
        try:
            started = time.perf_counter()
            phases = Phases(sandbox, english, chinese)
            phases.q.at_rate(english + chinese, 20, 2)  # warm-up
            # the hourly question themes run once 30 s after a start: an hourly cost, not a question's
            time.sleep(max(2.0, args.quiet_after - (time.perf_counter() - started)))
            idle, _ = measure(proc, lambda: 0, settle=5)
            print(f"idle: {idle / 5 * 1000:.1f} ms of CPU per second", flush=True)
            runs = {"english": lambda: phases.english_at(args.rate, args.seconds),
                    "burst": lambda: phases.burst(args.burst),
                    "mix": lambda: phases.mix(args.rate, args.seconds)}
            rows = []
            for name in args.phases.split(","):
                cpu, answered = measure(proc, runs[name])
                raw = out / f"cost-{name}.raw"
                p = spy(proc.pid, raw, args.rate_hz)
                time.sleep(1)
                _, profiled = measure(proc, runs[name])
                stop_spy(p)
                profile = Profile(raw)
                per = cpu / max(1, answered) * 1000
                shares = profile.shares()
                rows.append((name, answered, cpu, per, shares))
                print(f"{name}: {answered} answered, {cpu:.2f} s of CPU: {per:.2f} ms per answered question; "
                      + ", ".join(f"{k} {per * v:.2f}" for k, v in shares.items())
                      + f" (profile: {profile.total()} samples, {profiled} answered)", flush=True)
                own, inclusive = profile.top(repo=repo)
                with (out / f"cost-{name}.txt").open("w") as f:
                    f.write(f"# {name}: {per:.2f} ms CPU per answered question, commit {_commit(repo)}\n")
                    f.write("# parts: " + ", ".join(f"{k} {v * 100:.0f} %" for k, v in shares.items()) + "\n")
                    f.write("\n## heaviest frames, self time (share of samples)\n")
                    for frame, n in own:
                        f.write(f"{n / max(1, profile.total()) * 100:5.1f} %  {frame}\n")
                    f.write("\n## heaviest functions, inclusive\n")
                    for frame, n in inclusive:
                        f.write(f"{n / max(1, profile.total()) * 100:5.1f} %  {frame}\n")
                print((out / f"cost-{name}.txt").read_text(), flush=True)
            print("\n| phase | answered | CPU ms per answered | " + " | ".join(k for k, _ in [*PARTS, ("other", ())]) + " |")
            for name, answered, _cpu, per, shares in rows:
                print(f"| {name} | {answered} | {per:.2f} | " + " | ".join(f"{per * v:.2f}" for v in shares.values()) + " |")
            deferred_dms(proc, db, idle / 5)
            left = count(db, "select count(*) from raw_updates where status != 'done'")
            print(f"updates not done: {left}; comments sent: {phases.comments}")
        finally:
            Bot.stop(proc)
            tree.stop()
    load = os.getloadavg()
    print(f"# load average at end {load[0]:.1f} {load[1]:.1f}")


if __name__ == "__main__":
    main()
