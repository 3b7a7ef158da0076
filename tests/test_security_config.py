"""Security of the configuration, the files the bot writes and what errors reveal (issue 11: 1, 6, 9, 14)."""

from __future__ import annotations

import csv
import io
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from bot.config import WEBHOOK_SECRET_RE, ConfigError, parse_settings
from bot.kernel.errors import describe
from bot.kernel.export import export_zip, write_export
from bot.store.db import make_engine, make_sessionmaker, safe_url, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, DirectMessage, utcnow

GOOD_SECRET = "A" * 20 + "b-_" * 5


def _problems(raw: dict[str, object], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings(raw, "bot.toml", env=env or {})
    return str(info.value)


@pytest.mark.parametrize("secret", ["", "hush", "x" * 31, "é" * 40, "a b" * 20, "x" * 257])
def test_webhook_mode_refuses_a_weak_or_missing_secret(secret: str) -> None:
    raw = {"telegram": {"mode": "webhook", "webhook_url": "https://example.org/hook", "webhook_secret": secret}}
    message = _problems(raw)
    assert "[telegram] webhook_secret" in message and "--generate-secret" in message


def test_webhook_secret_from_the_environment_is_accepted() -> None:
    raw = {"telegram": {"mode": "webhook", "webhook_url": "https://example.org/hook"}}
    settings = parse_settings(raw, env={"CREATORBOT_WEBHOOK_SECRET": GOOD_SECRET})
    assert settings.telegram.webhook_secret == GOOD_SECRET
    # polling mode needs no secret
    assert parse_settings({}, env={}).telegram.mode == "polling"


def test_check_config_generates_a_strong_secret() -> None:
    outs = set()
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "bot", "check-config", "--generate-secret"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        secret = proc.stdout.strip()
        assert WEBHOOK_SECRET_RE.match(secret) and len(secret) >= 32
        assert "CREATORBOT_WEBHOOK_SECRET" in proc.stderr
        outs.add(secret)
    assert len(outs) == 2  # random, not a constant


def test_check_config_explains_how_to_find_the_ids(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text("[creator]\nuser_ids = [42]\n")
    proc = subprocess.run([sys.executable, "-m", "bot", "check-config", str(cfg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "[channel] id is 0" in proc.stderr and "discussion_group_id is 0" in proc.stderr
    assert "[creator] user_ids is empty" not in proc.stderr


@pytest.mark.parametrize("which", ["discussion_group_id", "id"])
def test_inbox_cannot_be_the_public_channel_or_group(which: str) -> None:
    raw = {"creator": {"user_ids": [1], "inbox_chat_id": -1005}, "channel": {which: -1005}}
    assert "[creator] inbox_chat_id = -1005" in _problems(raw)
    ok = parse_settings({"creator": {"user_ids": [1], "inbox_chat_id": -1006}, "channel": {which: -1005}}, env={})
    assert ok.creator_chat_id == -1006


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://api.telegram.org", True),
    ("http://127.0.0.1:8081", True),
    ("http://localhost:8081", True),
    ("http://[::1]:8081", True),
    ("http://api.example.org", False),
    ("http://10.0.0.5:8081", False),
    ("http://127.0.0.1.evil.example:80", False),
])
def test_plain_http_api_only_on_this_machine(url: str, allowed: bool) -> None:
    raw = {"telegram": {"base_url": url}}
    if allowed:
        assert parse_settings(raw, env={}).telegram.base_url == url
    else:
        assert "[telegram] base_url" in _problems(raw)


def test_db_upgrade_never_prints_the_password(tmp_path: Path) -> None:
    assert "hunter2" not in safe_url("postgresql+psycopg://bob:hunter2@db.example/creator")
    assert "bob" in safe_url("postgresql+psycopg://bob:hunter2@db.example/creator")
    cfg = tmp_path / "bot.toml"
    # an unreachable server: the error path must not show the password either
    cfg.write_text('[database]\nurl = "postgresql+psycopg://bob:hunter2@127.0.0.1:1/creator"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(cfg), "db", "upgrade"],
                          capture_output=True, text=True, timeout=60)
    assert "hunter2" not in proc.stdout + proc.stderr
    ok = tmp_path / "ok.toml"
    ok.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db" / "bot.db"}"\n')
    proc = subprocess.run([sys.executable, "-m", "bot", "--config", str(ok), "db", "upgrade"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "is up to date" in proc.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_exports_are_private(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'bot.db'}"
    upgrade(url)
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "bot.db") == 0o600
    engine = make_engine(url)
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as session:
        paths = write_export(session, tmp_path / "export")
    engine.dispose()
    assert _mode(tmp_path / "export") == 0o700
    assert paths and all(_mode(p) == 0o600 for p in paths)


def test_cli_creates_files_private_even_with_an_open_umask(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n')
    proc = subprocess.run(["sh", "-c", f'umask 000 && "{sys.executable}" -m bot --config "{cfg}" '
                           f'export --out "{tmp_path / "out"}"'], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _mode(tmp_path / "db.sqlite") == 0o600
    assert all(_mode(p) == 0o600 for p in (tmp_path / "out").iterdir())


def test_sql_errors_never_carry_follower_text(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    with engine.connect() as conn, pytest.raises(StatementError) as info:
        conn.execute(text("SELECT * FROM no_such_table WHERE x = :secret"), {"secret": "my bank pin 4711"})
    engine.dispose()
    assert "4711" not in str(info.value)
    told = describe(info.value)
    assert "4711" not in told and "no_such_table" in told


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url)
    engine = make_engine(url)
    evil = ['=HYPERLINK("http://evil","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as session, session.begin():
        for i, body in enumerate([*evil, "plain text", "a = b"]):
            session.add(DirectMessage(user_id=5, chat_id=5, message_id=i + 1, direction="in", text=body,
                                      created_at=utcnow()))
    with make_sessionmaker(engine, DEFAULT_CREATOR_ID)() as session:
        data = export_zip(session)
    engine.dispose()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("direct_messages.csv").decode())))
    got = {r["message_id"]: r["text"] for r in rows}
    for i, body in enumerate(evil):
        assert got[str(i + 1)] == "'" + body
        assert not got[str(i + 1)].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert got[str(len(evil) + 1)] == "plain text" and got[str(len(evil) + 2)] == "a = b"
