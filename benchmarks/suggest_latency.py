"""How long /suggest takes with N stored interactions (database read + fit + ranking).

    OMP_WAIT_POLICY=PASSIVE python benchmarks/suggest_latency.py [--interactions 100000] [--db URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import parse_settings
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, ChannelPost, Comment, PostReactions, PostTag
from bot.topics.suggestions import suggest_topics


def populate(url: str, n: int, n_posts: int = 600, n_tags: int = 40, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    upgrade(url)
    engine = make_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as s, s.begin():
        posts = [ChannelPost(chat_id=-1, message_id=i, text=f"post {i}", posted_at=start + timedelta(hours=6 * i))
                 for i in range(n_posts)]
        s.add_all(posts)
        s.flush()
        for p in posts:
            for t in set(rng.integers(0, n_tags, 2).tolist()):
                s.add(PostTag(post_id=p.id, tag=f"tag{t}"))
            s.add(PostReactions(post_id=p.id, total=int(rng.integers(0, 50)), counts={}, updated_at=p.posted_at))
        s.flush()
        rows = [{"chat_id": -2, "message_id": i, "post_id": posts[int(rng.integers(0, n_posts))].id,
                 "user_id": int(rng.integers(0, n // 20)), "text": "nice",
                 "created_at": start + timedelta(seconds=float(rng.uniform(0, 150 * 86400)))} for i in range(n)]
        s.execute(Comment.__table__.insert(), rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    populate(url, args.interactions)
    settings = parse_settings({"database": {"url": url}}, env={})
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        with sessions() as s:
            result = suggest_topics(s, settings, now=datetime(2026, 6, 1, tzinfo=UTC))
        times.append((time.perf_counter() - t) * 1000)
    print(f"/suggest with {args.interactions:,} stored comments ({url.split(':')[0]}): first call (cold cache) "
          f"{times[0]:.0f} ms; then median {np.median(times[1:]):.0f} ms, max {max(times[1:]):.0f} ms; "
          f"top: {[r.tag for r in result]}")


if __name__ == "__main__":
    main()
