"""One sandbox server serves several bots (tokens) on one port, as Telegram's API does."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import InvalidToken

from botapi_sandbox.server import BotApiSandbox, SandboxThread
from tests.conftest import wait_for

TOKEN_B = "654321:SANDBOX-B"
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


def api(sandbox: BotApiSandbox, method: str) -> str:
    return f"{sandbox.root_url}/bot{sandbox.token}/{method}"


def second_bot(sandbox: BotApiSandbox) -> BotApiSandbox:
    return sandbox.add_bot(TOKEN_B, bot_id=654321, channel_id=-1002000000001, group_id=-1002000000002,
                           username="second_creator_bot", first_name="Second Bot")


async def hook_receiver(received: list[dict[str, object]]) -> tuple[web.AppRunner, str]:
    """A webhook receiver on a free port that records what it gets; (runner, url)."""
    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook"


@pytest.fixture
async def hub(sandbox: BotApiSandbox) -> AsyncIterator[tuple[BotApiSandbox, BotApiSandbox]]:
    """The primary bot A and a bot B added after the server started."""
    b = second_bot(sandbox)
    yield sandbox, b
    assert not b.unimplemented


async def test_two_bots_share_one_port_with_their_own_updates_and_sends(
        hub: tuple[BotApiSandbox, BotApiSandbox]) -> None:
    a, b = hub
    assert (b.port, b.base_url, b.root_url) == (a.port, a.base_url, a.root_url) and a.port > 0
    assert a.hub_bots == [a, b] and b.hub_calls is a.hub_calls
    eve_b = b.user(5, "Eve")
    b.send_private(eve_b, "to B")
    assert (a.pending_count, b.pending_count) == (0, 1)
    async with Bot(a.token, base_url=a.base_url) as bot_a, Bot(b.token, base_url=b.base_url) as bot_b:
        assert (await bot_a.get_me()).username == "creator_sandbox_bot"
        me_b = await bot_b.get_me()
        assert (me_b.id, me_b.username, me_b.first_name) == (654321, "second_creator_bot", "Second Bot")
        assert await bot_a.get_updates(timeout=0) == ()
        got = await bot_b.get_updates(timeout=0)
        assert [u.message.text for u in got] == ["to B"]  # type: ignore[union-attr]
        assert got[0].message.chat.id == 5  # type: ignore[union-attr]
        await bot_b.get_updates(offset=got[-1].update_id + 1, timeout=0)
        # B's long poll does not return for A's update; A's poll gets it.
        poll_b = asyncio.create_task(bot_b.get_updates(timeout=1))
        await asyncio.sleep(0.2)
        a.send_private(a.user(7, "Ann"), "to A")
        assert [u.message.text for u in await bot_a.get_updates(timeout=5)] == ["to A"]  # type: ignore[union-attr]
        assert await poll_b == ()
        assert b.pending_count == 0 and a.pending_count == 1  # A's not confirmed yet
        # A send with A's token lands in A's state only, even to a chat id B knows too.
        a.user(5, "Eve in A")
        await bot_a.send_message(5, "from A")
        assert a.texts_to(5) == ["from A"] and b.sent == {}
        await bot_b.send_message(5, "from B")
        assert b.texts_to(5) == ["from B"] and a.texts_to(5) == ["from A"]
        assert (await bot_b.get_chat(b.channel["id"])).username == "creator_channel_654321"
    assert [c.method for c in b.calls].count("sendMessage") == 1
    tokens: dict[str, set[str]] = {}
    for token, call in a.hub_calls:
        tokens.setdefault(call.method, set()).add(token)
    assert tokens["getMe"] == {a.token, b.token}
    # No call with A's token ever named one of B's chats (its channel or group), and vice versa.
    assert not [c for t, c in a.hub_calls if t == a.token and c.params.get("chat_id") in (b.channel["id"], b.group["id"])]
    assert not [c for t, c in a.hub_calls if t == b.token and c.params.get("chat_id") in (a.channel["id"], a.group["id"])]


async def test_a_bot_added_before_start_is_served_and_started_with_the_server() -> None:
    a = BotApiSandbox()
    b = second_bot(a)
    with pytest.raises(RuntimeError):
        await b.start()
    await a.start()
    try:
        b.send_private(b.user(5, "Eve"), "queued before")
        async with aiohttp.ClientSession() as http:
            async with http.get(api(b, "getUpdates"), params={"timeout": "0"}) as r:
                assert [u["message"]["text"] for u in (await r.json())["result"]] == ["queued before"]
            async with http.get(api(a, "getMe")) as r:
                assert (await r.json())["result"]["id"] == 123456
        assert b._webhook_task is not None and not b._webhook_task.done()
    finally:
        await a.stop()
    await asyncio.sleep(0)
    assert b._webhook_task.done() and a._webhook_task is not None and a._webhook_task.done()


async def test_unknown_token_answers_401_and_files_stay_per_bot(hub: tuple[BotApiSandbox, BotApiSandbox]) -> None:
    a, b = hub
    b.send_document(b.user(5, "Eve"), "stats.csv", b"a,b\n1,2\n")
    async with aiohttp.ClientSession() as http:
        for method in ("getMe", "getUpdates", "sendMessage"):
            async with http.post(f"{a.root_url}/bot999:NOPE/{method}", json={"chat_id": 5, "text": "x"}) as r:
                assert r.status == 401 and await r.json() == UNAUTHORIZED
        async with http.get(f"{a.root_url}/file/bot{b.token}/documents/doc1") as r:
            assert r.status == 200 and await r.read() == b"a,b\n1,2\n"
        async with http.get(f"{a.root_url}/file/bot{a.token}/documents/doc1") as r:
            assert r.status == 404  # A has no such file
        async with http.get(f"{a.root_url}/file/bot999:NOPE/documents/doc1") as r:
            assert r.status == 404  # as before: an unknown token's file is not found
    assert [(t, c.method, c.ok) for t, c in a.hub_calls] == [
        ("999:NOPE", "getMe", False), ("999:NOPE", "getUpdates", False), ("999:NOPE", "sendMessage", False)]
    assert a.calls == [] and b.calls == []
    with pytest.raises(ValueError):
        second_bot(a)
    with pytest.raises(TypeError):
        a.add_bot("777:C")  # type: ignore[call-overload]


async def test_a_revoked_token_answers_401_while_the_other_bot_keeps_answering(
        hub: tuple[BotApiSandbox, BotApiSandbox]) -> None:
    a, b = hub
    async with Bot(a.token, base_url=a.base_url) as bot_a, Bot(b.token, base_url=b.base_url) as bot_b:
        await bot_b.get_me()
        poll_b = asyncio.create_task(bot_b.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        a.revoke(b.token)
        start = time.monotonic()
        with pytest.raises(InvalidToken):
            await poll_b  # the long poll in progress ends with 401 too
        assert time.monotonic() - start < 3  # not the poll's 5 s timeout
        with pytest.raises(InvalidToken):
            await bot_b.send_message(5, "x")
        assert (await bot_a.get_me()).id == 123456
        a.send_private(a.user(5, "Eve"), "still here")
        assert [u.message.text for u in await bot_a.get_updates(timeout=1)] == ["still here"]  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as http, http.get(api(b, "getMe")) as r:
            assert r.status == 401 and await r.json() == UNAUTHORIZED
        b.revoked = False
        assert (await bot_b.get_me()).id == 654321
    assert b.revoked is False and not a.revoked
    assert [c.ok for t, c in a.hub_calls if t == b.token and c.method == "sendMessage"] == [False]
    with pytest.raises(KeyError):
        a.revoke("999:NOPE")


async def test_each_bot_delivers_to_its_own_webhook(hub: tuple[BotApiSandbox, BotApiSandbox]) -> None:
    a, b = hub
    got_a: list[dict[str, object]] = []
    got_b: list[dict[str, object]] = []
    runner_a, url_a = await hook_receiver(got_a)
    runner_b, url_b = await hook_receiver(got_b)
    try:
        async with Bot(a.token, base_url=a.base_url) as bot_a, Bot(b.token, base_url=b.base_url) as bot_b:
            await bot_a.set_webhook(url_a)
            await bot_b.set_webhook(url_b)
            assert (await bot_b.get_webhook_info()).url == url_b
            a.send_private(a.user(5, "Ann"), "for A")
            b.send_private(b.user(6, "Bea"), "for B 1")
            b.send_private(b.user(6, "Bea"), "for B 2")
            await wait_for(lambda: len(got_a) == 1 and len(got_b) == 2, 5, "both webhooks")
            assert [u["message"]["text"] for u in got_a] == ["for A"]  # type: ignore[index]
            assert [u["message"]["text"] for u in got_b] == ["for B 1", "for B 2"]  # type: ignore[index]
            await wait_for(lambda: a.pending_count == 0 and b.pending_count == 0, 5, "the updates confirmed")
            # B drops its webhook and polls; A's webhook stays and keeps its updates.
            await bot_b.delete_webhook()
            a.send_private(a.user(5, "Ann"), "A again")
            b.send_private(b.user(6, "Bea"), "B polled")
            assert [u.message.text for u in await bot_b.get_updates(timeout=1)] == ["B polled"]  # type: ignore[union-attr]
            await wait_for(lambda: len(got_a) == 2, 5, "A's second delivery")
            await asyncio.sleep(0.3)
            assert len(got_b) == 2 and json.dumps(got_a).count("B polled") == 0
    finally:
        await runner_a.cleanup()
        await runner_b.cleanup()


def test_bots_added_to_a_sandbox_thread_after_it_started() -> None:
    with SandboxThread(BotApiSandbox()) as a:
        b = second_bot(a)  # from the test's thread, while the server runs in its own
        b.send_private(b.user(5, "Eve"), "hi B")
        with urllib.request.urlopen(f"{a.root_url}/bot{TOKEN_B}/getUpdates?timeout=1", timeout=5) as r:
            assert [u["message"]["text"] for u in json.load(r)["result"]] == ["hi B"]
        with urllib.request.urlopen(api(a, "getUpdates"), timeout=5) as r:
            assert json.load(r)["result"] == []
        a.revoke(TOKEN_B)
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(f"{a.root_url}/bot{TOKEN_B}/getMe", timeout=5)
        assert exc.value.code == 401
        assert b._webhook_task is not None
