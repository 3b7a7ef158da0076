"""The sandbox speaks the Bot API wire format (form, JSON, multipart, long polling, webhooks)."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, Conflict

from botapi_sandbox.server import BotApiSandbox
from tests.conftest import wait_for


def api(sandbox: BotApiSandbox, method: str) -> str:
    return f"{sandbox.root_url}/bot{sandbox.token}/{method}"


async def test_form_json_and_query_requests(sandbox: BotApiSandbox) -> None:
    sandbox.user(5, "Eve")
    async with aiohttp.ClientSession() as http:
        async with http.post(api(sandbox, "sendMessage"), data={"chat_id": "5", "text": "form"}) as r:
            assert (await r.json())["result"]["text"] == "form"
        async with http.post(api(sandbox, "sendMessage"), json={"chat_id": 5, "text": "json",
                                                                "reply_markup": {"inline_keyboard": []}}) as r:
            body = await r.json()
            assert body["ok"] and body["result"]["chat"]["id"] == 5
        async with http.get(api(sandbox, "getMe")) as r:
            assert (await r.json())["result"]["is_bot"] is True
        async with http.post(api(sandbox, "sendMessage"), json={"chat_id": 404, "text": "x"}) as r:
            assert r.status == 400 and (await r.json())["description"] == "Bad Request: chat not found"


async def test_ptb_bot_round_trip_including_multipart(sandbox: BotApiSandbox) -> None:
    sandbox.user(5, "Eve")
    async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
        me = await bot.get_me()
        assert me.username == "creator_sandbox_bot"
        msg = await bot.send_photo(5, InputFile(b"\x89PNG fake", filename="c.png"), caption="chart")
        assert msg.photo and msg.caption == "chart"
        assert sandbox.calls_of("sendPhoto")[0].files["photo"] == b"\x89PNG fake"
        try:
            await bot.send_message(5, "a < b & c", parse_mode="HTML")
            raise AssertionError("unescaped HTML must be rejected")
        except BadRequest as exc:
            assert "can't parse entities" in str(exc).lower()


async def test_get_updates_offset_limit_and_long_poll(sandbox: BotApiSandbox) -> None:
    eve = sandbox.user(5, "Eve")
    for i in range(5):
        sandbox.send_private(eve, f"m{i}")
    async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
        first = await bot.get_updates(limit=2)
        assert [u.message.text for u in first] == ["m0", "m1"]  # type: ignore[union-attr]
        rest = await bot.get_updates(offset=first[-1].update_id + 1)
        assert [u.message.text for u in rest] == ["m2", "m3", "m4"]  # type: ignore[union-attr]
        again = await bot.get_updates(offset=first[-1].update_id + 1)  # not confirmed yet: redelivered
        assert len(again) == 3
        start = time.monotonic()
        empty = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=1)
        assert empty == () and time.monotonic() - start >= 0.9
        asyncio.get_running_loop().call_later(0.3, sandbox.send_private, eve, "late")
        late = await bot.get_updates(offset=rest[-1].update_id + 1, timeout=5)
        assert [u.message.text for u in late] == ["late"]  # type: ignore[union-attr]


async def test_second_poller_and_webhook_conflicts(sandbox: BotApiSandbox) -> None:
    async with Bot(sandbox.token, base_url=sandbox.base_url) as one, Bot(sandbox.token, base_url=sandbox.base_url) as two:
        first = asyncio.create_task(one.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(two.get_updates(timeout=1))
        results = await asyncio.gather(first, second, return_exceptions=True)
        assert any(isinstance(r, Conflict) for r in results)
        await one.set_webhook("http://127.0.0.1:1/hook")
        try:
            await one.get_updates()
            raise AssertionError("getUpdates must fail while a webhook is set")
        except Conflict as exc:
            assert "webhook is active" in str(exc)


async def test_webhook_delivery_carries_the_secret(sandbox: BotApiSandbox) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(status=200 if len(received) > 1 else 500)  # first attempt fails

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with Bot(sandbox.token, base_url=sandbox.base_url) as bot:
            await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        sandbox.send_private(sandbox.user(5, "Eve"), "hello")
        await wait_for(lambda: len(received) >= 2, 5, "webhook delivery and its retry")
        assert received[1][0] == "s3cret"
        assert received[0][1] == received[1][1]  # redelivered after the 500
        await wait_for(lambda: sandbox.pending_count == 0, 5, "the update to be confirmed")
    finally:
        await runner.cleanup()


async def test_unimplemented_methods_fail_loudly() -> None:
    sandbox = BotApiSandbox()
    await sandbox.start()
    try:
        async with aiohttp.ClientSession() as http, http.post(api(sandbox, "sendGift"), json={}) as r:
            assert r.status == 404
            assert "not implemented" in json.dumps(await r.json())
        assert sandbox.unimplemented == ["sendGift"]
    finally:
        await sandbox.stop()


async def test_rate_limit_answers_429_with_retry_after(sandbox: BotApiSandbox) -> None:
    sandbox.user(5, "Eve")
    sandbox.fail_next("sendMessage", code=429, retry_after=3)
    async with aiohttp.ClientSession() as http, http.post(api(sandbox, "sendMessage"), json={"chat_id": 5, "text": "x"}) as r:
        body = await r.json()
    assert r.status == 429 and body["parameters"]["retry_after"] == 3
