"""Export: CSV files of posts, comments, direct messages, reactions and follower counts."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import (
    ChannelPost,
    Comment,
    DirectMessage,
    ExportFile,
    FollowerCountSnapshot,
    PostReactions,
    PostTag,
)

CSV_FILES = ("posts.csv", "comments.csv", "direct_messages.csv", "reactions.csv", "follower_counts.csv")
README = """creatorbot export

posts.csv            post_id, message_id, posted_at (UTC, ISO-8601), tags (space-separated), text
comments.csv         comment_id, post_id (empty: not linked to a post), user_id (empty: forgotten), created_at,
                     sentiment (negative/neutral/positive/unknown, empty: not classified), text
direct_messages.csv  message_id, user_id, direction (in: follower to bot, out: bot to follower), created_at,
                     content_type, sentiment, text, inbox (bot: the bot's chat, channel_dm: the channel's
                     direct messages, business: your own chats through Telegram Business)
reactions.csv        post_id, total, counts (emoji=count separated by spaces), updated_at
follower_counts.csv  taken_at, count

Text cells that start with = + - @, a tab or a carriage return get a leading apostrophe, so a
spreadsheet shows them as text instead of running them as formulas.
"""


def _rows(session: Session) -> dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]:
    tags: dict[int, list[str]] = {}
    for post_id, tag in session.execute(select(PostTag.post_id, PostTag.tag).order_by(PostTag.tag)):
        tags.setdefault(post_id, []).append(tag)
    return {
        "posts.csv": (("post_id", "message_id", "posted_at", "tags", "text"), [
            (p.id, p.message_id, p.posted_at.isoformat(), " ".join(tags.get(p.id, [])), p.text)
            for p in session.scalars(select(ChannelPost).order_by(ChannelPost.posted_at))]),
        "comments.csv": (("comment_id", "post_id", "user_id", "created_at", "sentiment", "text"), [
            (c.id, c.post_id or "", c.user_id or "", c.created_at.isoformat(), c.sentiment or "", c.text or "")
            for c in session.scalars(select(Comment).order_by(Comment.created_at))]),
        "direct_messages.csv": (("message_id", "user_id", "direction", "created_at", "content_type", "sentiment", "text",
                                 "inbox"), [
            (d.message_id, d.user_id, d.direction, d.created_at.isoformat(), d.content_type, d.sentiment or "",
             d.text or "", d.inbox) for d in session.scalars(select(DirectMessage).order_by(DirectMessage.created_at))]),
        "reactions.csv": (("post_id", "total", "counts", "updated_at"), [
            (r.post_id, r.total, " ".join(f"{k}={v}" for k, v in r.counts.items()), r.updated_at.isoformat())
            for r in session.scalars(select(PostReactions).order_by(PostReactions.post_id))]),
        "follower_counts.csv": (("taken_at", "count"), [
            (f.taken_at.isoformat(), f.count)
            for f in session.scalars(select(FollowerCountSnapshot).order_by(FollowerCountSnapshot.taken_at))]),
    }


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|...).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (shown as text)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_files(session: Session) -> dict[str, bytes]:
    out: dict[str, bytes] = {"README.txt": README.encode()}
    for name, (header, rows) in _rows(session).items():
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        writer.writerows([safe_cell(v) for v in row] for row in rows)
        out[name] = buf.getvalue().encode("utf-8")
    return out


def write_export(session: Session, directory: Path, record: bool = False) -> list[Path]:
    """Write the CSV files into `directory`, readable by this user only (0700 / 0600). `record`: note
    the folder (`export_files`) so that /forgetme finds the files later (the CLI's `export --out`)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    paths = []
    for name, data in export_files(session).items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        path.chmod(0o600)
        paths.append(path)
    if record:
        where = str(directory.resolve())
        if session.scalar(select(ExportFile.id).where(ExportFile.path == where)) is None:
            session.add(ExportFile(path=where))
    return paths


def recorded_exports(session: Session, data_dir: Path | None) -> tuple[list[Path], list[Path]]:
    """Folders CLI exports were written to that still exist: (under the data folder, elsewhere). A
    folder that is gone is no longer recorded."""
    inside, outside = [], []
    root = data_dir.resolve() if data_dir is not None else None
    for row in session.scalars(select(ExportFile).order_by(ExportFile.id)):
        folder = Path(row.path)
        if not folder.is_dir() or folder.is_symlink():
            session.delete(row)
        elif root is not None and folder.is_relative_to(root):
            inside.append(folder)
        else:
            outside.append(folder)
    return inside, outside


def export_names() -> list[str]:
    """The names of the files an export writes."""
    return ["README.txt", *CSV_FILES]


def export_zip(session: Session) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in export_files(session).items():
            zf.writestr(name, data)
    return buf.getvalue()
