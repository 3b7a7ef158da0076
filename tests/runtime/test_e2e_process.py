"""The real `creatorbot run` as a subprocess against the sandbox."""

from __future__ import annotations

import random
import signal
from pathlib import Path

from botapi_sandbox.server import BotApiSandbox, SandboxThread
from tests.process import query, start_bot, stop_bot, wait_until, write_config


def test_run_answers_records_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    log = tmp_path / "bot.log"
    with SandboxThread(BotApiSandbox()) as sandbox:
        proc = start_bot(write_config(tmp_path / "bot.toml", sandbox, db), log)
        try:
            ana = sandbox.user(101, "Ana")
            sandbox.send_private(ana, "/start")
            post, forward = sandbox.channel_post("Trail running in the rain #running #gear")
            sandbox.comment(forward, ana, "Which shoes?")
            # a first start makes the models' ONNX exports before it answers (about 30 s on 2 cores)
            wait_until(lambda: sandbox.texts_to(101), 180, "the answer to /start")
            assert "Hi Ana" in sandbox.texts_to(101)[0]
            wait_until(lambda: query(db, "select count(*) from comments where post_id is not null") == [(1,)],
                       30, "the comment to be stored and linked")
            rows = query(db, "select p.message_id, c.text from comments c join channel_posts p on p.id = c.post_id")
            assert rows == [(post["message_id"], "Which shoes?")]
            assert sorted(query(db, "select tag from post_tags")) == [("gear",), ("running",)]
        finally:
            took = stop_bot(proc, signal.SIGTERM)
        assert proc.returncode == 0, log.read_text()[-2000:]
        assert took < 5.0, f"SIGTERM took {took:.1f} s"
        assert "creatorbot stopped" in log.read_text()
        assert not sandbox.unimplemented


def test_sigkill_at_a_random_moment_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """500 queued updates; SIGKILL while they are handled; a restart finishes them exactly once."""
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    db = tmp_path / "bot.db"
    log = tmp_path / "bot.log"
    with SandboxThread(BotApiSandbox()) as sandbox:
        # No creator configured: questions get one reply each and no handoff note (which would
        # queue 150 notes to one chat at Telegram's 1 message/s).
        config = write_config(tmp_path / "bot.toml", sandbox, db, creators=())
        users = [sandbox.user(1000 + i, f"F{i}") for i in range(50)]
        pushed = 0
        dms = comments = posts = 0
        forwards = []
        while pushed < 500:
            roll = rng.random()
            if (roll < 0.2 or not forwards) and pushed <= 498:
                _, forward = sandbox.channel_post(f"post {posts} #t{posts % 7}")
                forwards.append(forward)
                posts += 1
                pushed += 2
            elif roll < 0.6:
                sandbox.comment(rng.choice(forwards), rng.choice(users), f"comment {comments}")
                comments += 1
                pushed += 1
            else:
                sandbox.send_private(rng.choice(users), f"question {dms}?")
                dms += 1
                pushed += 1
        assert pushed == 500

        kill_after = rng.randrange(20, 300)
        proc = start_bot(config, log)
        wait_until(lambda: (query(db, "select count(*) from raw_updates where status='done'") or [(0,)])[0][0]
                   >= kill_after, 120, f"{kill_after} updates handled", poll=0.01)
        stop_bot(proc, signal.SIGKILL)
        done_at_kill = query(db, "select count(*) from raw_updates where status='done'")[0][0]
        assert done_at_kill < 500, f"seed {seed}: the kill came too late to test anything"

        proc = start_bot(config, log)
        try:
            wait_until(lambda: query(db, "select count(*), sum(status='done') from raw_updates") == [(500, 500)],
                       180, "every update to be stored and handled")
            wait_until(lambda: sandbox.pending_count == 0, 30, "every update to be confirmed")
            wait_until(lambda: query(db, "select count(*) from outbox where status='pending'") == [(0,)],
                       60, "every reply to be sent")
        finally:
            stop_bot(proc)
        ids = [r[0] for r in query(db, "select update_id from raw_updates order by update_id")]
        assert ids == list(range(1, 501)), f"seed {seed}"
        assert query(db, "select count(*) from direct_messages where direction='in'") == [(dms,)], f"seed {seed}"
        assert query(db, "select count(*) from comments where post_id is not null") == [(comments,)], f"seed {seed}"
        assert query(db, "select count(*) from channel_posts where discussion_message_id is not null") == [(posts,)]
        assert not sandbox.unimplemented
        # Every question got its reply; a kill between a send and its bookkeeping may repeat one.
        replies = sum(len(sandbox.sent.get(u["id"], [])) for u in users)
        assert dms <= replies <= dms + 1, f"seed {seed}"
