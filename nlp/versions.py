"""Versioned model directories: root/v0001, root/v0002, ... and a CURRENT pointer file.

The pointer is replaced atomically, so a reader sees either the old or the new version. An
application may keep its pointer elsewhere (the bot keeps it in its database) and check the names
it reads with `is_version`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_VERSION = re.compile(r"^v(\d{4,})$")


def versions(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted((p.name for p in root.iterdir() if p.is_dir() and _VERSION.match(p.name)),
                  key=lambda n: int(n[1:]))


def new_version_dir(root: Path) -> Path:
    """Reserve the next version directory (created empty)."""
    root.mkdir(parents=True, exist_ok=True)
    while True:
        existing = versions(root)
        number = int(existing[-1][1:]) + 1 if existing else 1
        path = root / f"v{number:04d}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a reader sees the old or the new content, never half; the
    temporary file's name is unique, so threads and processes writing the same file at once never
    take each other's temporary file (the last writer wins)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish(root: Path, version: str) -> None:
    write_atomically(root / "CURRENT", version + "\n")


def is_version(root: Path, name: str) -> bool:
    """Whether `name` is a version like v0007 that exists under `root` (a path that leaves `root`
    is not)."""
    return bool(_VERSION.match(name)) and (root / name).is_dir()


def current(root: Path) -> str | None:
    """The version the pointer file publishes (None: no pointer, or it names no version)."""
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8", errors="replace").strip()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return name if is_version(root, name) else None


def unpublish(root: Path) -> None:
    """Remove the pointer file: no version is published."""
    (root / "CURRENT").unlink(missing_ok=True)
