"""The demo's inbox scene with fake models (fast): a follower in the channel's direct messages and two
followers writing to the creator's own account in draft mode (one approved, one edited)."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo.runner import CREATOR_ID, BrowserSandbox, Transcript, play_inboxes
from bot.demo.sandbox_chat import chat_messages
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import settings_for
from tests.inbox.conftest import prepare


async def test_the_demo_shows_both_new_inboxes(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    out = io.StringIO()
    async with running_bot(settings, sandbox) as bot:
        t = Transcript(sandbox, bot.runtime, out)
        await play_inboxes(sandbox, t)
        text = out.getvalue()
        for expected in ("== The channel's direct messages ==", "bot → Dana (channel direct messages): My tripod",
                         "📝 Draft for Eli", "Maya taps Send", "bot → Eli, as Maya in her own chat (Business): ",
                         "Maya taps Edit",
                         "bot → Finn, as Maya in her own chat (Business): Sure, with a credit and a link back."):
            assert expected in text, (expected, text)
        # the browser sandbox shows each follower's side of both inboxes
        dana = chat_messages(sandbox, 104, "channel")
        assert [m["from"] for m in dana] == ["user", "bot"] and dana[1]["text"].startswith("My tripod")
        finn = chat_messages(sandbox, 106, "business")
        assert [m["from"] for m in finn] == ["user", "bot"] and finn[1]["text"].startswith("Sure, with a credit")

        site = BrowserSandbox(sandbox, 0)
        await site.bind()
        base = await site.start(bot.runtime)
        try:
            from aiohttp import ClientSession

            async with ClientSession() as http:
                async with http.post(f"{base}/sandbox/api/send", json={"user_id": 105, "text": "Which tripod do you use?",
                                                                       "to": "business"}) as resp:
                    assert resp.status == 200
                async with http.post(f"{base}/sandbox/api/send", json={"user_id": 104, "text": "What tripod is that?",
                                                                       "to": "channel"}) as resp:
                    assert resp.status == 200
                await bot.settle()
                async with http.get(f"{base}/sandbox/api/chat/104?to=channel") as resp:
                    assert [m["from"] for m in await resp.json()][-2:] == ["user", "bot"]
                async with http.get(f"{base}/sandbox/api/chat/105?to=business") as resp:
                    assert (await resp.json())[-1]["from"] == "user"  # draft mode: nothing until Maya approves
                assert "Which tripod do you use?" in sandbox.sent[CREATOR_ID][-1]["text"]
        finally:
            await site.stop()
