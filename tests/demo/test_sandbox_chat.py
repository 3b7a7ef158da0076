"""The browser sandbox's chat page and `demo --db`: local requests only, relative Mini App URLs only,
and no file overwritten that is not a demo database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.demo.sandbox_chat import make_sandbox_chat_app
from botapi_sandbox.server import BotApiSandbox
from tests.conftest import CREATOR_ID

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def chat(sandbox: BotApiSandbox) -> AsyncIterator[Client]:
    maya = sandbox.user(CREATOR_ID, "Maya")
    root = web.Application()
    root.add_subapp("/sandbox/", make_sandbox_chat_app(sandbox, [maya], {CREATOR_ID}))
    async with TestClient(TestServer(root, host="127.0.0.1")) as client:
        yield client


def _origin(client: Client) -> str:
    return f"http://127.0.0.1:{client.port}"


async def test_a_cross_site_post_does_not_drive_the_bot(chat: Client, sandbox: BotApiSandbox) -> None:
    body = json.dumps({"user_id": CREATOR_ID, "text": "/faq remove camera"})
    # what any web page can send without a preflight: text/plain, from its own origin
    resp = await chat.post("/sandbox/api/send", data=body,
                           headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
    assert resp.status == 403
    resp = await chat.post("/sandbox/api/send", data=body,
                           headers={"Content-Type": "application/json", "Origin": "https://evil.example"})
    assert resp.status == 403
    resp = await chat.post("/sandbox/api/send", data=body, headers={"Content-Type": "text/plain",
                                                                   "Origin": _origin(chat)})
    assert resp.status == 415
    resp = await chat.post("/sandbox/api/press", data='{"user_id": 9001, "message_id": 1, "data": "x"}',
                           headers={"Content-Type": "text/plain", "Origin": "null"})
    assert resp.status == 403
    assert sandbox.received.get(CREATOR_ID) is None  # nothing reached the bot
    ok = await chat.post("/sandbox/api/send", data=body, headers={"Content-Type": "application/json",
                                                                 "Origin": _origin(chat)})
    assert ok.status == 200, await ok.text()
    assert [m["text"] for m in sandbox.received[CREATOR_ID]] == ["/faq remove camera"]


async def test_another_host_name_is_refused(chat: Client) -> None:
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 is same-origin with
    itself, but its requests carry its own host name."""
    for path in ("/sandbox/api/people", f"/sandbox/api/chat/{CREATOR_ID}",
                 f"/sandbox/open?user_id={CREATOR_ID}&url=/dashboard/"):
        resp = await chat.get(path, headers={"Host": f"evil.example:{chat.port}"}, allow_redirects=False)
        assert resp.status == 403, path
    resp = await chat.get("/sandbox/api/people", headers={"Host": f"localhost:{chat.port}"})
    assert resp.status == 200


@pytest.mark.parametrize("url", ["//evil.example/", "///evil.example/", "/\\evil.example/", "\\\\evil.example",
                                 "/\t/evil.example/", "http://127.0.0.1.evil.example/", "http://localhost@evil.example/",
                                 "https://evil.example/dashboard/", "javascript:alert(1)", "dashboard/", ""])
async def test_open_takes_only_a_path_on_this_server(chat: Client, url: str) -> None:
    resp = await chat.get("/sandbox/open", params={"user_id": str(CREATOR_ID), "url": url}, allow_redirects=False)
    assert resp.status == 400, (url, resp.headers.get("Location"))
    assert "tgWebAppData" not in resp.headers.get("Location", "")


async def test_open_signs_in_to_a_local_path(chat: Client) -> None:
    resp = await chat.get("/sandbox/open", params={"user_id": str(CREATOR_ID), "url": "/dashboard/?x=1"},
                          allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"].startswith("/dashboard/?x=1#tgWebAppData=")


async def test_the_creator_picker_sends_to_the_picked_bot_and_signs_with_its_token(sandbox: BotApiSandbox) -> None:
    from urllib.parse import unquote

    from bot.demo.sandbox_chat import ChatBot
    from bot.web.auth import AuthError, validate_init_data

    cook = sandbox.add_bot("222222:COOK", bot_id=222222, channel_id=-1002000000001, group_id=-1002000000002)
    maya, luca = sandbox.user(CREATOR_ID, "Maya"), cook.user(9002, "Luca")
    ana_at_luca = cook.user(101, "Ana")
    root = web.Application()
    root.add_subapp("/sandbox/", make_sandbox_chat_app(sandbox, [maya], {CREATOR_ID}, title="Maya (photographer)", more=[
        ChatBot("luca", "Luca (cook)", cook, [ana_at_luca, luca], frozenset({9002}), "/luca/dashboard/")]))
    async with TestClient(TestServer(root, host="127.0.0.1")) as client:
        bots = await (await client.get("/sandbox/api/bots")).json()
        assert [(b["key"], b["title"], b["creator_id"], b["dashboard"]) for b in bots] == [
            ("default", "Maya (photographer)", CREATOR_ID, "/dashboard/"),
            ("luca", "Luca (cook)", 9002, "/luca/dashboard/")]
        ok = await client.post("/sandbox/api/send", json={"bot": "luca", "user_id": 101, "text": "Which flour?"})
        assert ok.status == 200, await ok.text()
        assert [m["text"] for m in cook.received[101]] == ["Which flour?"] and 101 not in sandbox.received
        chat = await (await client.get("/sandbox/api/chat/101?bot=luca")).json()
        assert [m["text"] for m in chat] == ["Which flour?"]
        # Ana is nobody at Maya's bot, and an unknown bot is nobody's
        assert (await client.get("/sandbox/api/chat/101")).status == 404
        assert (await client.post("/sandbox/api/send", json={"bot": "nobody", "user_id": 101, "text": "x"})).status == 404
        # the channel's direct messages and the creator's own account: only where the creator has them
        for to in ("channel", "business"):
            resp = await client.post("/sandbox/api/send", json={"bot": "luca", "user_id": 101, "text": "x", "to": to})
            assert resp.status == 400, to
        resp = await client.get("/sandbox/open", params={"bot": "luca", "user_id": "9002", "url": "/luca/dashboard/"},
                                allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"].startswith("/luca/dashboard/#tgWebAppData=")
        init = unquote(resp.headers["Location"].split("#tgWebAppData=", 1)[1].split("&tgWebAppPlatform", 1)[0])
        assert validate_init_data(init, cook.token, 60).id == 9002  # signed with Luca's bot's token
        with pytest.raises(AuthError):
            validate_init_data(init, sandbox.token, 60)  # not Maya's


async def test_the_chat_page_is_served(chat: Client) -> None:
    resp = await chat.get("/sandbox/")
    assert resp.status == 200 and "<html" in (await resp.text()).lower()


def test_demo_refuses_to_overwrite_a_file_that_is_not_a_demo_database(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    real = tmp_path / "creatorbot.db"
    with sqlite3.connect(real) as conn:
        conn.execute("CREATE TABLE followers (id INTEGER)")
    real_bytes = real.read_bytes()
    for path in (notes, real, tmp_path):
        assert main(["demo", "--db", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and "--db" in err, err
    assert notes.read_text() == "my notes"
    assert real.read_bytes() == real_bytes


def test_an_old_demo_database_is_replaced(tmp_path: Path) -> None:
    from bot.demo.runner import fresh_demo_db

    db = tmp_path / "demo.db"
    fresh_demo_db(db)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE leftover (id INTEGER)")
    db.with_name("demo.db-wal").write_bytes(b"stale")
    fresh_demo_db(db)  # a demo database: replaced
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert not db.with_name("demo.db-wal").exists()
    fresh_demo_db(tmp_path / "new" / "demo.db")  # a new path is fine


async def test_the_demo_server_refuses_another_host_name_for_the_dashboard_too(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    import aiohttp

    from bot.app import create_runtime
    from bot.demo.runner import BrowserSandbox
    from bot.store.db import upgrade
    from tests.conftest import settings_for

    upgrade(sqlite_url)
    runtime = create_runtime(settings_for(sandbox, sqlite_url, tmp_path))
    site = BrowserSandbox(sandbox, 0)
    await site.bind()
    base = await site.start(runtime)
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/dashboard/", "/sandbox/api/people"):
                async with http.get(base + path, headers={"Host": f"evil.example:{site.port}"}) as resp:
                    assert resp.status == 403, path
                async with http.get(base + path) as resp:
                    assert resp.status == 200, path
    finally:
        await site.stop()
        runtime.shared.close()
