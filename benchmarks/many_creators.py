"""Many creators in one `creatorbot run` process, against the fake Bot API serving one bot per creator.

Measures, with the real models (English and Chinese questions, so both languages are loaded):
- resident memory of the bot process at 1, 10, 50 and 100 creators, each having answered questions, and the
  marginal memory of one more creator;
- start-up with N creators (models cached): seconds from launch to every bot polling `getUpdates`;
- 50 questions/s spread over 20 creators for 60 s: answered, p50 / p99;
- one creator's burst of 2,000 questions while 19 others ask 1 question/s each: the others' p50 / p99;
- a creator added with `creatorbot creators add` while running: seconds to its first answer.

Every creator gets the demo FAQ (English and Chinese entries), trained once and copied to each creator's
data folder, so each creator loads a head of its own.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/many_creators.py [--counts 1,10,50,100] [--skip-load]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bot_throughput import UNLIMITED, Bot, Questions, Tree, _commit, _faq_questions  # noqa: E402
from botapi_sandbox.server import BotApiSandbox, SandboxThread  # noqa: E402

NEW_TOKEN = "799999:NEWBENCH"


def token(i: int) -> str:
    return f"{700000 + i}:BENCH{i}"


class Many:
    def __init__(self, sandbox: BotApiSandbox, tmp: Path, n: int) -> None:
        self.sandbox, self.tmp, self.n = sandbox, tmp, n
        self.bots = [sandbox] + [sandbox.add_bot(token(i), bot_id=700000 + i, channel_id=-1005000000000 - 2 * i,
                                                 group_id=-1005000000001 - 2 * i) for i in range(1, n + 1)]
        self.db = tmp / "bot.db"
        self.config = tmp / "bot.toml"
        self.write_config(n)

    def write_config(self, n: int) -> None:
        lines = [f'[telegram]\nbase_url = "{self.sandbox.root_url}"\npoll_timeout = 10\n',
                 f'[database]\nurl = "sqlite:///{self.db}"\n', f'[paths]\ndata_dir = "{self.tmp / "data"}"\n',
                 UNLIMITED]
        for i in range(n):
            bot = self.bots[i]
            lines.append(f'[[creators]]\nname = "c{i}"\ntoken_env = "BENCH_TOKEN_{i}"\nuser_ids = [{900000 + i}]\n'
                         f'[creators.channel]\nid = {bot.channel["id"]}\ndiscussion_group_id = {bot.group["id"]}\n')
        self.config.write_text("\n".join(lines))

    def env(self) -> dict[str, str]:
        # BENCH_TOKEN_NEW: the creator added while running (`creators add --token-env`) is read from the running
        # process's environment, so it is there from the start, as an operator would provision it
        return {**{f"BENCH_TOKEN_{i}": b.token for i, b in enumerate(self.bots)}, "BENCH_TOKEN_NEW": NEW_TOKEN}

    def prepare(self, model_src: Path | None) -> Path:
        """Import the demo FAQ for every creator; train once (c0) and copy that version to the others."""
        from bot.config import load_settings
        from bot.faq.entries import import_entries
        from bot.faq.training import import_and_train
        from bot.store import live_models
        from bot.store.creators import creator_id_of
        from bot.store.db import make_engine, make_sessionmaker, upgrade
        from nlp.faq_data import load_faq

        settings = load_settings(self.config, env=self.env())
        entries = load_faq(ROOT / "bot/demo_data/faq.yaml") + load_faq(ROOT / "bot/demo_data/faq_zh.yaml")
        first = settings.for_creator(settings.creators[0])
        if model_src is None:
            version, _ = import_and_train(first, entries)
            model_src = first.data_dir / "faq" / version
        upgrade(settings.database.url)
        engine = make_engine(settings.database.url)
        for spec in settings.creators:
            own = settings.for_creator(spec)
            target = own.data_dir / "faq" / model_src.name
            if target != model_src and not target.exists():
                shutil.copytree(model_src, target)
            sessions = make_sessionmaker(engine, creator_id_of(engine, spec.name, create=True, spec=spec))
            with sessions() as s, s.begin():
                import_entries(s, entries)
                live_models.publish_version(s, live_models.FAQ, model_src.name)
        engine.dispose()
        return model_src


def polling(sandbox: BotApiSandbox, tokens: set[str]) -> bool:
    return tokens <= {t for t, call in sandbox.hub_calls if call.method == "getUpdates"}


def pct(values: list[float]) -> str:
    if not values:
        return "no replies"
    p = np.percentile(values, [50, 99])
    return f"p50 {p[0]:.0f} ms, p99 {p[1]:.0f} ms"


def ask_everyone(many: Many, n: int, english: list[str], chinese: list[str]) -> tuple[int, int]:
    qs = [Questions(b) for b in many.bots[:n]]
    users = [(q, [q.push(english[i % len(english)]), q.push(chinese[i % len(chinese)])]) for i, q in enumerate(qs)]
    got = sum(len(q.wait(u, 300)) for q, u in users)
    return got, 2 * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50,100")
    parser.add_argument("--skip-load", action="store_true", help="memory and start-up only")
    parser.add_argument("--load-creators", type=int, default=20, help="the process the load runs use")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    english = _faq_questions(ROOT / "bot/demo_data/faq.yaml")
    with (ROOT / "benchmarks/faq_zh_test.csv").open(encoding="utf-8") as f:
        chinese = [r["question"] for r in csv.DictReader(f) if r["id"]]
    print(f"# commit {_commit(ROOT)}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    model_src: Path | None = None
    memory: dict[int, float] = {}
    keep = Path(tempfile.mkdtemp(prefix="many-creators-model-"))
    for n in counts:
        tmp = Path(tempfile.mkdtemp(prefix=f"many-creators-{n}-"))
        with SandboxThread(BotApiSandbox()) as sandbox:
            many = Many(sandbox, tmp, n)
            src = many.prepare(model_src)
            if model_src is None:
                model_src = keep / src.name
                shutil.copytree(src, model_src)
            bot = Bot(ROOT, many.config, tmp / "bot.log")
            os.environ.update(many.env())
            tree = Tree()
            proc, _ = bot.start(tree)  # first start: exports, if any, happen here
            Bot.stop(proc)
            t0 = time.perf_counter()
            proc, running = bot.start(tree)
            tokens = {b.token for b in many.bots[:n]}
            while not polling(sandbox, tokens) and time.perf_counter() - t0 < 120:
                time.sleep(0.02)
            up = time.perf_counter() - t0
            try:
                got, asked = ask_everyone(many, n, english, chinese)
                time.sleep(2)
                memory[n] = tree.own_mb()
                print(f"{n:3d} creators: start-up {up:.1f} s to every bot polling ('running' after {running:.1f} s); "
                      f"{got}/{asked} questions answered; resident {memory[n]:.0f} MB", flush=True)
                if n == args.load_creators and not args.skip_load:
                    load_runs(many, sandbox, english, tmp, bot)
            finally:
                Bot.stop(proc)
                tree.stop()
    if len(memory) > 1:
        lo, hi = min(memory), max(memory)
        print(f"marginal memory per extra creator ({lo} -> {hi}): {(memory[hi] - memory[lo]) / (hi - lo):.1f} MB",
              flush=True)


def load_runs(many: Many, sandbox: BotApiSandbox, english: list[str], tmp: Path, bot: Bot) -> None:
    """On the running process: spread load, one creator's burst, a creator added while running."""
    twenty = [Questions(b) for b in many.bots[:20]]
    users: list[tuple[Questions, int]] = []
    t0 = time.perf_counter()
    for i in range(50 * 60):
        delay = t0 + i / 50 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        q = twenty[i % 20]
        users.append((q, q.push(english[i % len(english)])))
    lat = [v for q in twenty for v in q.wait([u for qq, u in users if qq is q], 120).values()]
    print(f"50 q/s over 20 creators for 60 s: {len(lat)}/{len(users)} answered, {pct(lat)}", flush=True)

    burst = Questions(many.bots[0])
    others = twenty[1:]
    burst_users = [burst.push(english[i % len(english)]) for i in range(2000)]
    steady: list[tuple[Questions, int]] = []
    t0 = time.perf_counter()
    for second in range(30):
        for q in others:
            steady.append((q, q.push(english[(second * 7) % len(english)])))
        delay = t0 + second + 1 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    other_lat = [v for q in others for v in q.wait([u for qq, u in steady if qq is q], 120).values()]
    burst_lat = burst.wait(burst_users, 600)
    last = max(burst_lat.values()) / 1000 if burst_lat else float("nan")
    print(f"burst of 2,000 on c0 ({len(burst_lat)} answered, last after {last:.1f} s) while 19 creators ask 1/s: "
          f"the others {len(other_lat)}/{len(steady)} answered, {pct(other_lat)}", flush=True)

    import subprocess

    new = sandbox.add_bot(NEW_TOKEN, bot_id=799999, channel_id=-1005999999998, group_id=-1005999999999)
    subprocess.run([sys.executable, "-m", "bot", "--config", str(many.config), "creators", "add", "newcomer",
                    "--token-env", "BENCH_TOKEN_NEW", "--user-id", "999999"], cwd=ROOT, env=bot.env(), check=True,
                   capture_output=True)
    t0 = time.perf_counter()
    q = Questions(new)
    uid = q.push("hello")
    while uid not in q.replies() and time.perf_counter() - t0 < 120:
        time.sleep(0.05)
    print(f"a creator added with `creators add`: first answer after {time.perf_counter() - t0:.1f} s", flush=True)


if __name__ == "__main__":
    main()
