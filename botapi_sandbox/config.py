"""A config file that points the real bot at a sandbox (subprocess tests, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from botapi_sandbox.server import BotApiSandbox

# The sandbox's webhook secret (a real deployment makes its own: check-config --generate-secret).
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret-0123456789abcdef"


def write_sandbox_config(path: Path, sandbox: BotApiSandbox, db_url: str, creators: Iterable[int] = (),
                         extra: str = "", webhook: bool = False) -> Path:
    """Write a config for `sandbox` to `path` (data next to it); `extra` is appended TOML.

    Polling, or with `webhook` webhook mode (each worker's port from CREATORBOT_WEBHOOK_PORT)."""
    mode = (f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:9/telegram"\n'
            f'webhook_secret = "{SANDBOX_WEBHOOK_SECRET}"' if webhook else "poll_timeout = 1")
    path.write_text(f"""
[telegram]
token = "{sandbox.token}"
base_url = "{sandbox.root_url}"
{mode}

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
