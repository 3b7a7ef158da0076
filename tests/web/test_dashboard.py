"""The dashboard sub-application over HTTP: initData authentication, pages with charts, actions."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import texts
from bot.kernel.services import Services
from bot.web.app import make_dashboard_app
from bot.web.auth import AuthError, sign_init_data, validate_init_data
from bot.web.views import PAGES
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for

MAYA = {"id": CREATOR_ID, "first_name": "Maya"}


def test_signed_init_data_validates_and_tampering_does_not() -> None:
    token = "123:ABC"
    data = sign_init_data(MAYA, token)
    assert validate_init_data(data, token, 60).id == CREATOR_ID
    with pytest.raises(AuthError, match="signature"):
        validate_init_data(data, "123:OTHER", 60)
    fields = dict(parse_qsl(data))
    fields["user"] = json.dumps({"id": 1, "first_name": "Eve"})
    with pytest.raises(AuthError, match="signature"):
        validate_init_data(urlencode(fields), token, 60)
    old = sign_init_data(MAYA, token, auth_date=int(time.time()) - 3600)
    with pytest.raises(AuthError, match="stale"):
        validate_init_data(old, token, 60)
    with pytest.raises(AuthError):
        validate_init_data("", token, 60)


@asynccontextmanager
async def dashboard(services: Services) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    root = web.Application()
    root.add_subapp("/dashboard/", make_dashboard_app(services))
    async with TestClient(TestServer(root)) as client:
        yield client


def auth(token: str, user: dict[str, object] = MAYA, age: int = 0) -> dict[str, str]:
    return {"Authorization": "tma " + sign_init_data(user, token, auth_date=int(time.time()) - age)}


async def _channel(sandbox: BotApiSandbox, bot: Harness) -> None:
    ana = sandbox.user(101, "Ana")
    post, forward = sandbox.channel_post("Sunrise over the lake #travel")
    sandbox.comment(forward, ana, "<b>bold</b> <script>alert(1)</script> & more")
    sandbox.comment(forward, ana, "Love it")
    sandbox.reactions(post, {"👍": 4})
    sandbox.member(ana, joined=True)
    await bot.settle()


async def test_every_page_needs_a_creators_fresh_signed_init_data(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path)
    token = settings.telegram.token
    async with running_bot(settings, sandbox) as bot:
        await _channel(sandbox, bot)
        async with dashboard(bot.runtime.services) as client:
            shell = await client.get("/dashboard/")
            assert shell.status == 200 and "dashboard.js" in await shell.text()
            for page in PAGES:
                forged = {"Authorization": "tma " + sign_init_data(MAYA, "999:FORGED")}
                for headers in ({}, forged, auth(token, age=2 * 86400), auth(token, {"id": 101, "first_name": "Ana"})):
                    resp = await client.get(f"/dashboard/api/page/{page}", headers=headers)
                    assert resp.status == 401, (page, headers)
                ok = await client.get(f"/dashboard/api/page/{page}", headers=auth(token))
                assert ok.status == 200, await ok.text()
                html = await ok.text()
                if page != "reminders":
                    assert '<svg class="chart"' in html, page
            resp = await client.post("/dashboard/api/reminders/create", data={"when": "in 2h", "text": "post"},
                                     headers=auth(token, age=2 * 86400))
            assert resp.status == 401
            sentiment = await (await client.get("/dashboard/api/page/sentiment", headers=auth(token))).text()
            assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in sentiment and "<script>" not in sentiment


async def test_reminders_and_faq_edits_from_the_dashboard(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from bot.faq.entries import import_entries
    from nlp.faq_data import FaqEntry

    settings = settings_for(sandbox, sqlite_url, tmp_path)
    token = settings.telegram.token
    async with running_bot(settings, sandbox) as bot:
        with bot.sessions() as s, s.begin():
            import_entries(s, [FaqEntry("camera", "A Sony.", ["which camera do you use?"], [])])
        async with dashboard(bot.runtime.services) as client:
            html = await (await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                            data={"when": "tomorrow 18:00", "text": "post the <sunrise>"})).text()
            assert "post the &lt;sunrise&gt;" in html
            bad = await (await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                           data={"when": "someday", "text": "x"})).text()
            assert 'class="error"' in bad
            html = await (await client.post("/dashboard/api/faq/entry", headers=auth(token),
                                            data={"entry_id": "camera", "answer": "A Nikon Z8 now."})).text()
            assert "A Nikon Z8 now." in html
            html = await (await client.post("/dashboard/api/faq/example", headers=auth(token),
                                            data={"entry_id": "camera", "question": "what body do you shoot?"})).text()
            assert "what body do you shoot?" in html


async def test_the_bot_serves_the_dashboard_and_offers_it_to_the_creator(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    import socket

    from aiohttp import ClientSession

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = "https://bot.example.com/dashboard/"
    settings = settings_for(sandbox, sqlite_url, tmp_path, web={"public_url": url, "port": port})
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot, ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/dashboard/") as resp:
            assert resp.status == 200 and "dashboard.js" in await resp.text()
        async with http.get(f"http://127.0.0.1:{port}/dashboard/api/page/overview") as resp:
            assert resp.status == 401
        async with http.get(f"http://127.0.0.1:{port}/dashboard/api/page/overview",
                            headers=auth(settings.telegram.token)) as resp:
            assert resp.status == 200 and "Overview" in await resp.text()
        assert sandbox.menu_buttons[CREATOR_ID] == {"type": "web_app", "text": "Open dashboard", "web_app": {"url": url}}
        assert 101 not in sandbox.menu_buttons
        sandbox.send_private(maya, "/dashboard")
        sandbox.send_private(ana, "/dashboard")
        await bot.settle()
    (offer,) = sandbox.sent[CREATOR_ID]
    assert offer["reply_markup"]["inline_keyboard"] == [[{"text": "Open dashboard", "web_app": {"url": url}}]]
    assert "only for the channel's creator" in sandbox.texts_to(101)[-1]


def _with_hash(data: str, value: str) -> str:
    fields = dict(parse_qsl(data))
    fields["hash"] = value
    return urlencode(fields)


@pytest.mark.parametrize("bad_hash", ["é" * 64, "\ufffd" * 64, "0" * 63 + "☃", ""])
def test_a_non_ascii_hash_is_refused_like_any_wrong_one(bad_hash: str) -> None:
    token = "123:ABC"
    with pytest.raises(AuthError, match="signature"):
        validate_init_data(_with_hash(sign_init_data(MAYA, token), bad_hash), token, 60)


@pytest.mark.parametrize("user", ['{"id": 1e999, "first_name": "Eve"}', '["not", "an", "object"]', '"x"'])
def test_a_signed_but_malformed_user_is_refused(user: str) -> None:
    import hashlib
    import hmac

    token = "123:ABC"
    fields = {"auth_date": str(int(time.time())), "user": user}
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    with pytest.raises(AuthError):
        validate_init_data(urlencode(fields), token, 60)


async def test_the_dashboard_answers_401_not_500_to_a_non_ascii_hash(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from bot.app import create_runtime
    from bot.store.db import upgrade

    settings = settings_for(sandbox, sqlite_url, tmp_path)
    upgrade(sqlite_url)
    runtime = create_runtime(settings)
    good = sign_init_data(MAYA, settings.telegram.token)
    async with dashboard(runtime.services) as client:
        for value in ("é" * 64, "%FF" * 32):
            forged = _with_hash(good, value).replace("%25FF", "%FF")
            resp = await client.get("/dashboard/api/page/overview", headers={"Authorization": "tma " + forged})
            assert resp.status == 401, await resp.text()
            assert "Traceback" not in await resp.text()
    runtime.engine.dispose()


async def test_the_dashboard_refuses_what_the_chat_refuses(sandbox: BotApiSandbox, sqlite_url: str,
                                                           tmp_path: Path) -> None:
    """One check for both: the reminder cap and text length, and an FAQ answer Telegram could not send."""
    from sqlalchemy import func, select

    from bot.faq.entries import import_entries
    from bot.store.models import FaqEntryRow, Reminder
    from nlp.faq_data import FaqEntry

    settings = settings_for(sandbox, sqlite_url, tmp_path, limits={"send_per_chat_per_second": 30.0})
    token = settings.telegram.token
    maya = sandbox.user(CREATOR_ID, "Maya")

    def reminders_stored() -> int:
        with bot.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Reminder).where(Reminder.kind == "manual")) or 0)

    async with running_bot(settings, sandbox) as bot:
        with bot.sessions() as s, s.begin():
            import_entries(s, [FaqEntry("camera", "A Sony.", ["which camera do you use?"], [])])
        async with dashboard(bot.runtime.services) as client:
            long_text = "x" * 201
            sandbox.send_private(maya, f"/remind in 2h {long_text}")
            await bot.settle()
            chat_says = bot.replies_to(CREATOR_ID)[-1]
            html = await (await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                            data={"when": "in 2h", "text": long_text})).text()
            assert "200 characters" in chat_says and chat_says in html, (chat_says, html)
            assert reminders_stored() == 0
            for i in range(25):
                resp = await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                          data={"when": f"in {i + 1}h", "text": f"post {i}"})
                assert 'class="error"' not in await resp.text()
            html = await (await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                            data={"when": "in 30h", "text": "one too many"})).text()
            sandbox.send_private(maya, "/remind in 31h one too many")
            await bot.settle()
            chat_says = bot.replies_to(CREATOR_ID)[-1]
            assert chat_says == texts.REMIND_TOO_MANY.format(n=25) and chat_says in html
            assert reminders_stored() == 25
            extra = await (await client.post("/dashboard/api/reminders/create", headers=auth(token),
                                             data={"when": "in 2h post", "text": "x"})).text()
            assert "“post”" in extra and 'class="error"' in extra

            for answer in ("a" * 4097, "📷" * 2049):  # 4,097 and 4,098 UTF-16 units: Telegram refuses them
                html = await (await client.post("/dashboard/api/faq/entry", headers=auth(token),
                                                data={"entry_id": "camera", "answer": answer})).text()
                assert texts.esc(texts.FAQ_ANSWER_TOO_LONG.format(n=texts.utf16_len(answer), limit=4096)) in html
            with bot.sessions() as s:
                assert s.get(FaqEntryRow, "camera").answer == "A Sony."  # type: ignore[union-attr]
            html = await (await client.post("/dashboard/api/faq/entry", headers=auth(token),
                                            data={"entry_id": "camera", "answer": "📷" * 2048})).text()
            assert 'class="error"' not in html


async def test_the_asks_page_shows_the_themes_and_adds_an_faq_answer(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from sqlalchemy import select

    from bot.store.models import FaqExample

    settings = settings_for(sandbox, sqlite_url, tmp_path, recsys={"theme_threshold": 0.8})
    token = settings.telegram.token
    questions = ["how long does shipping take?", "is shipping free?", "shipping to canada how long?"]
    async with running_bot(settings, sandbox) as bot:
        _, forward = sandbox.channel_post("New prints are in the shop #shop")
        for i, text in enumerate(questions):
            sandbox.comment(forward, sandbox.user(600 + i, f"Fan{i}"), text)
        sandbox.comment(forward, sandbox.user(610, "Fan"), "Love the <b>prints</b>")  # not a question
        await bot.settle()
        async with dashboard(bot.runtime.services) as client:
            html = await (await client.get("/dashboard/api/page/asks", headers=auth(token))).text()
            assert "3 followers</b> asked (3 questions)" in html and "add an FAQ answer" in html
            assert '<svg class="chart"' in html and "Love the" not in html
            html = await (await client.post("/dashboard/api/asks/faq", headers=auth(token), data={
                "questions": "\n".join(questions), "answer": "Free in the EU, 3–5 days."})).text()
            assert 'class="error"' not in html
            bad = await (await client.post("/dashboard/api/asks/faq", headers=auth(token),
                                           data={"questions": "is shipping free?", "answer": " "})).text()
            assert 'class="error"' in bad
        with bot.sessions() as s:
            assert set(questions) <= set(s.scalars(select(FaqExample.question)))


async def test_the_plan_page_shows_next_weeks_slots_within_the_rules(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path,
                            recsys={"plan_rules": ["never on Sundays", "at least one #business a week"]})
    token = settings.telegram.token
    async with running_bot(settings, sandbox) as bot:
        for i, tag in enumerate(["travel", "food", "business"] * 3):
            post, _ = sandbox.channel_post(f"Post {i} #{tag}", date=int(time.time()) - (10 + i) * 86400)
            sandbox.reactions(post, {"👍": 3 + i})
        await bot.settle()
        async with dashboard(bot.runtime.services) as client:
            html = await (await client.get("/dashboard/api/page/plan", headers=auth(token))).text()
        assert "<h1>Plan: next week</h1>" in html and '<svg class="chart"' in html
        slots = html.split('<ol class="slots">')[1].split("</ol>")[0]
        assert slots.count("<li>") == 5 and "#business" in slots and "Sun " not in slots
        assert "Your rules: never on Sundays; at least one #business a week." in html
