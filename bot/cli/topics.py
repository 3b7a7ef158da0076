"""`creatorbot topics suggest`: topic suggestions from exported interactions (CSV in, JSON out)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from bot.config import Settings
from recsys.interest import Interactions, TagInterestModel, explain
from recsys.tags import split_tags


class CsvError(Exception):
    pass


def parse_time(value: str, where: str) -> float:
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CsvError(f"{where}: time {value!r} is neither ISO-8601 nor Unix seconds") from exc
    if dt.tzinfo is None:
        raise CsvError(f"{where}: time {value!r} has no time zone: add one, e.g. {value}+00:00")
    return dt.timestamp()


def read_rows(path: Path, required: set[str], usage: str, parse: Callable[[dict[str, str], str], None]) -> list[str]:
    """Feed each CSV row to `parse(row, "file:line")`; rows it rejects (CsvError) are collected, not fatal."""
    errors: list[str] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = required - set(reader.fieldnames or [])
        if missing:
            raise CsvError(f"{path}:1: missing column(s) {', '.join(sorted(missing))} (need {usage})")
        for row in reader:
            try:
                parse(row, f"{path}:{reader.line_num}")
            except CsvError as exc:
                errors.append(str(exc))
    return errors


def read_posts(path: Path) -> tuple[dict[str, int], list[list[str]], list[float], list[str]]:
    ids: dict[str, int] = {}
    tags: list[list[str]] = []
    times: list[float] = []

    def parse(row: dict[str, str], where: str) -> None:
        post = (row.get("post") or "").strip()
        if not post:
            raise CsvError(f"{where}: empty post id")
        if post in ids:
            raise CsvError(f"{where}: post {post!r} appears twice")
        t = parse_time(row.get("time") or "", where)
        ids[post] = len(ids)
        tags.append(split_tags(row.get("tags") or ""))
        times.append(t)

    errors = read_rows(path, {"post", "tags", "time"}, "post,tags,time", parse)
    return ids, tags, times, errors


def read_interactions(path: Path, posts: dict[str, int]) -> tuple[dict[str, int], list[tuple[int, int, float, float]], list[str]]:
    followers: dict[str, int] = {}
    rows: list[tuple[int, int, float, float]] = []

    def parse(row: dict[str, str], where: str) -> None:
        post = row.get("post") or ""
        if post not in posts:
            raise CsvError(f"{where}: post {post!r} is not in the posts file")
        raw = (row.get("intensity") or "").strip()
        try:
            intensity = float(raw) if raw else 1.0
        except ValueError as exc:
            raise CsvError(f"{where}: intensity {raw!r} is not a number") from exc
        if intensity < 0:
            raise CsvError(f"{where}: intensity {raw!r} is negative")
        t = parse_time(row.get("time") or "", where)
        follower = (row.get("follower") or "").strip()
        if not follower:
            raise CsvError(f"{where}: empty follower id")
        rows.append((followers.setdefault(follower, len(followers)), posts[post], intensity, t))

    errors = read_rows(path, {"follower", "post", "time"}, "follower,post[,intensity],time", parse)
    return followers, rows, errors


def suggest(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    post_ids, post_tags, post_times, errors = read_posts(Path(args.posts))
    followers, rows, more = read_interactions(Path(args.interactions), post_ids)
    errors += more
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    vocab = sorted({t for ts in post_tags for t in ts})
    index = {t: i for i, t in enumerate(vocab)}
    entries = [(p, index[t]) for p, ts in enumerate(post_tags) for t in ts]
    s = sp.csr_matrix((np.ones(len(entries)), ([p for p, _ in entries], [t for _, t in entries])),
                      shape=(len(post_ids), len(vocab)))
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    inter = Interactions(arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2], arr[:, 3])
    now = parse_time(args.at, "--at") if args.at else None
    model = TagInterestModel(half_life_days=settings.recsys.half_life_days).fit(
        inter, s, np.array(post_times), max(1, len(followers)), now=now)
    out: dict[str, Any] = {"audience": [
        {"tag": vocab[sc.tag], "score": round(sc.score, 4), "expected_engagement": round(sc.score, 4),
         "sd": round(sc.sd, 4), "posts": sc.raw_posts, "experiment": sc.experiment, "why": explain(sc, vocab[sc.tag])}
        for sc in model.audience(k=args.top)]}
    if args.per_follower:
        out["followers"] = {name: [{"tag": vocab[t], "score": round(v, 4)} for t, v in model.recommend(row, k=args.top)]
                            for name, row in followers.items()}
    if errors:
        out["skipped_rows"] = len(errors)
    return out


def cmd_suggest(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "creator", None) is not None:  # it reads only the CSV files: a creator is optional
        from bot.cli.scope import creator_settings

        settings, _ = creator_settings(args, settings)
    try:
        result = suggest(args, settings)
    except (CsvError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


def add_topic_commands(sub: Any, common: Any) -> None:
    topics = sub.add_parser("topics", help="topic suggestions from exported data")
    topics_sub = topics.add_subparsers(dest="topics_command", required=True, metavar="ACTION")
    p = topics_sub.add_parser("suggest", help="rank tags by expected engagement; JSON on stdout")
    p.add_argument("--interactions", required=True, help="CSV: follower,post,intensity,time (intensity optional)")
    p.add_argument("--posts", required=True, help="CSV: post,tags,time (tags separated by spaces or |)")
    p.add_argument("--per-follower", action="store_true", help="also rank tags for each follower")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--at", help="rank as of this time (ISO-8601 or Unix seconds; default: the latest data)")
    p.set_defaults(func=cmd_suggest)
    common(p)
