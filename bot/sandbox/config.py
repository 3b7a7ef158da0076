"""A config file that points the real bot at a sandbox (subprocess tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bot.sandbox.server import BotApiSandbox


def write_sandbox_config(path: Path, sandbox: BotApiSandbox, db_url: str, creators: Iterable[int] = (),
                         extra: str = "") -> Path:
    """Write a polling config for `sandbox` to `path` (data next to it); `extra` is appended TOML."""
    path.write_text(f"""
[telegram]
token = "{sandbox.token}"
base_url = "{sandbox.root_url}"
poll_timeout = 1

[creator]
user_ids = [{", ".join(map(str, creators))}]

[channel]
id = {sandbox.channel['id']}
discussion_group_id = {sandbox.group['id']}

[database]
url = "{db_url}"

[paths]
data_dir = "{path.parent / 'data'}"
{extra}""")
    return path
