"""The demo's two creators in one process, with fake models (fast): Luca's scenes and Ana, who follows both,
played through the demo's own settings and `create_deployment`; each bot answers with its own token from
its own creator's FAQ and keeps its own data; the browser sandbox talks to both bots and opens each
dashboard with initData signed by that creator's bot."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from aiohttp import ClientSession
from sqlalchemy import select

from bot import texts
from bot.app import create_deployment
from bot.demo.runner import (
    ANA_TO_COOK,
    ANA_TO_MAYA,
    COOK,
    COOK_ID,
    COOK_QUESTIONS,
    COOK_REPLY,
    COOK_TOKEN,
    COOK_UNANSWERED,
    CREATOR_ID,
    MAYA,
    SAMPLE_FAQ,
    SAMPLE_FAQ_COOK,
    BrowserSandbox,
    Transcript,
    add_cook_bot,
    creator_settings,
    demo_settings,
    play_both,
    play_cook,
    say_stored,
    served,
)
from bot.faq.training import import_and_train
from bot.runtime import BotRuntime
from bot.runtime.deployment import Deployment
from bot.store.models import DirectMessage, FaqEntryRow, Follower, Handoff
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from tests.fakes import KeywordSentiment, fake_encoders

COOK_FOLLOWERS = {uid for uid, _, _ in COOK_QUESTIONS}


@dataclass
class Demo:
    deployment: Deployment
    maya: BotRuntime
    luca: BotRuntime
    cook: BotApiSandbox
    site: BrowserSandbox
    t: Transcript
    out: io.StringIO


@asynccontextmanager
async def two_creator_demo(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> AsyncIterator[Demo]:
    """What `run_demo` sets up, with the fake encoder and classifier: Luca's bot on Maya's sandbox, one
    config with both, each FAQ trained, one deployment serving both, the browser sandbox on both."""
    cook = add_cook_bot(sandbox)
    site = BrowserSandbox(sandbox, 0, cook)
    url = await site.bind()
    settings = demo_settings(sandbox, cook, db_url, str(tmp_path / "data"), url)
    import_and_train(creator_settings(settings, MAYA), load_faq(SAMPLE_FAQ), fake_encoders, 0.95)
    import_and_train(creator_settings(settings, COOK), load_faq(SAMPLE_FAQ_COOK), fake_encoders, 0.95)
    deployment = create_deployment(settings, encoder_factory=fake_encoders, classifier_factory=KeywordSentiment,
                                   env={})
    await deployment.start()
    try:
        maya, luca = served(deployment, MAYA), served(deployment, COOK)
        out = io.StringIO()
        t = Transcript(sandbox, maya, out, label="Maya's bot")
        t.add(cook, luca, "Luca's bot", "as Luca in his own chat (Business)")
        sandbox.user(101, "Ana", "ana_travels")
        sandbox.user(CREATOR_ID, "Maya", "maya_creates")
        yield Demo(deployment, maya, luca, cook, site, t, out)
    finally:
        await site.stop()
        await deployment.stop()


def tokens_to(sandbox: BotApiSandbox, chat_id: int) -> set[str]:
    """The tokens that sent messages to `chat_id`."""
    return {token for token, call in sandbox.hub_calls
            if call.method == "sendMessage" and int(call.params.get("chat_id", 0)) == chat_id}


async def test_luca_is_answered_by_his_own_bot_from_his_own_faq_and_maya_keeps_none_of_it(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    async with two_creator_demo(sandbox, sqlite_url, tmp_path) as demo:
        cook, t = demo.cook, demo.t
        await play_cook(cook, t)
        await play_both(sandbox, cook, t)
        say_stored(t, [("Maya", MAYA, demo.maya, sandbox), ("Luca", COOK, demo.luca, cook)])
        text = demo.out.getvalue()
        for expected in ("== A second creator in the same process: Luca, a home cook ==",
                         "Luca's bot → Omar: My pizza dough", "Luca's bot → Priya: Real carbonara",
                         f"Luca's bot → Priya: {texts.HANDOFF_TO_FOLLOWER}",
                         "Luca's bot → Luca (creator): ", f"Luca replies to the handoff: {COOK_REPLY}",
                         "== Ana follows both creators ==", f"Ana, to Maya's bot: {ANA_TO_MAYA}",
                         f"Ana, to Luca's bot: {ANA_TO_COOK}", "Maya's bot → Ana: Prints ship worldwide",
                         "Luca's bot → Ana: Extra virgin olive oil", "== Stored ==",
                         'Maya (creator "default", @creator_sandbox_bot, data folder ',
                         'Luca (creator "luca", @lucas_kitchen_bot, data folder '):
            assert expected in text, (expected, text)
        assert "Maya's bot → Omar" not in text and "Maya's bot → Priya" not in text
        handoff_note = text[text.index("Luca's bot → Luca (creator): "):][:300]
        assert "Question from Priya" in handoff_note and COOK_UNANSWERED in handoff_note
        assert "Luca's bot → Priya: 💬 The creator answered your question" in text
        relayed = cook.texts_to(202)[-1]
        assert COOK_REPLY in relayed  # Luca's answer reached Priya
        stored = text[text.index("== Stored =="):]
        maya_part, luca_part = stored.split('  Luca (creator "luca"')
        # Maya's sample FAQ; Luca's ten and the one his reply to the handoff added
        assert "faq entries: 12" in maya_part and "faq entries: 11" in luca_part
        assert str(tmp_path / "data" / "creators" / "luca") in luca_part

        # every message to Luca's followers and to Luca went out with his bot's token, none with Maya's
        for chat in (*COOK_FOLLOWERS, COOK_ID):
            assert tokens_to(sandbox, chat) == {COOK_TOKEN}, chat
            assert chat not in sandbox.sent  # nothing in Maya's bot's chats
        assert tokens_to(sandbox, 101) == {sandbox.token, COOK_TOKEN}  # Ana: one answer from each bot
        assert [x for x in cook.texts_to(101) if x.startswith("Extra virgin olive oil")]
        assert not [x for x in cook.texts_to(101) if "Prints ship" in x]
        assert tokens_to(sandbox, CREATOR_ID) <= {sandbox.token}
        # Luca's channel is his bot's only
        assert not [c for tok, c in sandbox.hub_calls if tok == sandbox.token
                    and c.params.get("chat_id") in (cook.channel["id"], cook.group["id"])]

        # maya's data has none of luca's (and luca's none of maya's)
        cook_texts = {q for _, _, q in COOK_QUESTIONS} | {COOK_UNANSWERED, ANA_TO_COOK, COOK_REPLY}
        cook_ids = {e.id for e in load_faq(SAMPLE_FAQ_COOK)}
        with demo.maya.services.sessions() as s:
            maya_followers = {f.user_id for f in s.scalars(select(Follower))}
            maya_dms = [m.text or "" for m in s.scalars(select(DirectMessage))]
            maya_entries = {e.id: e.answer for e in s.scalars(select(FaqEntryRow))}
            maya_handoffs = [h.question for h in s.scalars(select(Handoff))]
        assert not maya_followers & (COOK_FOLLOWERS | {COOK_ID}) and 101 in maya_followers
        assert not [m for m in maya_dms if m in cook_texts or "olive oil" in m or "pizza dough" in m], maya_dms
        assert ANA_TO_MAYA in maya_dms
        assert not set(maya_entries) & cook_ids and "prints" in maya_entries
        assert not [a for a in maya_entries.values() if COOK_REPLY in a or "olive oil" in a]
        assert COOK_UNANSWERED not in maya_handoffs
        with demo.luca.services.sessions() as s:
            luca_followers = {f.user_id for f in s.scalars(select(Follower))}
            luca_dms = [m.text or "" for m in s.scalars(select(DirectMessage))]
            luca_entries = {e.id for e in s.scalars(select(FaqEntryRow))}
            luca_handoffs = [h.question for h in s.scalars(select(Handoff))]
        assert COOK_FOLLOWERS | {101} <= luca_followers
        assert ANA_TO_MAYA not in luca_dms and not [m for m in luca_dms if "Prints ship" in m]
        assert cook_ids <= luca_entries and "prints" not in luca_entries and COOK_UNANSWERED in luca_handoffs


def init_data_of(location: str) -> str:
    """The initData a Mini App gets, from the sandbox's redirect (`<url>#tgWebAppData=...&...`)."""
    fragment = location.split("#", 1)[1]
    return unquote(fragment.split("&tgWebAppPlatform", 1)[0].removeprefix("tgWebAppData="))


async def test_the_served_chat_talks_to_both_bots_and_each_dashboard_opens_with_its_own_creators_init_data(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    async with two_creator_demo(sandbox, sqlite_url, tmp_path) as demo:
        cook, site = demo.cook, demo.site
        await play_cook(cook, demo.t)  # Luca, his followers and Ana exist, as after the scripted run
        await play_both(sandbox, cook, demo.t)
        before = {bot: len(bot.sent.get(101, [])) for bot in (sandbox, cook)}
        base = await site.start(demo.deployment)
        async with ClientSession() as http:
            async with http.get(f"{base}/sandbox/api/bots") as resp:
                bots = await resp.json()
            assert [(b["key"], b["username"], b["creator_id"], b["dashboard"]) for b in bots] == [
                ("default", "creator_sandbox_bot", CREATOR_ID, "/dashboard/"),
                ("luca", "lucas_kitchen_bot", COOK_ID, "/luca/dashboard/")]
            assert bots[0]["title"].startswith("Maya") and bots[1]["title"].startswith("Luca")
            async with http.get(f"{base}/sandbox/api/people?bot=luca") as resp:
                people = {p["id"]: p["role"] for p in await resp.json()}
            assert people == {101: "follower", 201: "follower", 202: "follower", COOK_ID: "creator"}
            async with http.get(f"{base}/sandbox/api/people") as resp:  # no ?bot: Maya's, as before
                assert {p["id"]: p["role"] for p in await resp.json()} == {101: "follower", CREATOR_ID: "creator"}
            async with http.get(f"{base}/sandbox/api/people?bot=nobody") as resp:
                assert resp.status == 404

            # Ana writes to each bot from the page: each answers, with its own token, from its own FAQ
            for key, question in (("luca", "Which olive oil do you use?"), ("default", "Which tripod do you use?")):
                async with http.post(f"{base}/sandbox/api/send",
                                     json={"bot": key, "user_id": 101, "text": question}) as resp:
                    assert resp.status == 200, await resp.text()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(len(b.sent.get(101, [])) > n for b, n in before.items()):
                await demo.t.settle(timeout=5)
            async with http.get(f"{base}/sandbox/api/chat/101?bot=luca") as resp:
                luca_chat = await resp.json()
            async with http.get(f"{base}/sandbox/api/chat/101?bot=default") as resp:
                maya_chat = await resp.json()
            assert [(m["from"], m["text"][:22]) for m in luca_chat[-2:]] == [
                ("user", "Which olive oil do you"), ("bot", "Extra virgin olive oil")], luca_chat
            assert [(m["from"], m["text"][:22]) for m in maya_chat[-2:]] == [
                ("user", "Which tripod do you us"), ("bot", "My tripod is a carbon ")], maya_chat
            assert not [m for m in luca_chat if "Peak Design" in m["text"] or "Prints ship" in m["text"]]
            assert tokens_to(sandbox, 101) == {sandbox.token, COOK_TOKEN}
            # Luca's business inbox was never connected: the page says so instead of reaching Maya's
            async with http.post(f"{base}/sandbox/api/send",
                                 json={"bot": "luca", "user_id": 201, "text": "hi", "to": "business"}) as resp:
                assert resp.status == 400
            assert bots[1]["inboxes"] == ["bot"]

            # each dashboard, opened the way the page opens it: initData signed with that creator's bot token
            async def opened(query: str) -> str:
                async with http.get(f"{base}/sandbox/open?{query}", allow_redirects=False) as resp:
                    assert resp.status == 302
                    return resp.headers["Location"]

            maya_at = await opened(f"user_id={CREATOR_ID}&url=/dashboard/")
            luca_at = await opened(f"bot=luca&user_id={COOK_ID}&url=/luca/dashboard/")
            assert maya_at.startswith("/dashboard/#tgWebAppData=") and luca_at.startswith("/luca/dashboard/#tgWebAppData=")
            maya_init, luca_init = init_data_of(maya_at), init_data_of(luca_at)

            async def page(path: str, init: str) -> tuple[int, str]:
                async with http.get(base + path, headers={"Authorization": "tma " + init}) as resp:
                    return resp.status, await resp.text()

            for path, init in (("/dashboard/api/page/faq", maya_init), ("/luca/dashboard/api/page/faq", luca_init)):
                async with http.get(base + path.replace("api/page/faq", "")) as resp:
                    assert resp.status == 200  # the shell
                status, html = await page(path, init)
                assert status == 200, (path, html[:300])
            _, maya_faq = await page("/dashboard/api/page/faq", maya_init)
            _, luca_faq = await page("/luca/dashboard/api/page/faq", luca_init)
            assert "Peak Design" in maya_faq and "Extra virgin olive oil" not in maya_faq
            assert "Extra virgin olive oil" in luca_faq and "Peak Design" not in luca_faq
            # each creator's initData opens their own dashboard only
            assert (await page("/luca/dashboard/api/page/faq", maya_init))[0] == 401
            assert (await page("/dashboard/api/page/faq", luca_init))[0] == 401
