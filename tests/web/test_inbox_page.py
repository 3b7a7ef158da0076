"""The dashboard's Inbox page: handoffs and drafts from every inbox, newest first; Send, an edited
answer, Skip, and the mode of each inbox."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.store.models import FaqExample, Handoff, SettingOverride
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for
from tests.inbox.conftest import KNOWN, KNOWN_ANSWER, UNRELATED, prepare
from tests.web.test_dashboard import auth, dashboard


async def test_inbox_page_lists_every_inbox_and_acts_on_drafts(sandbox: BotApiSandbox, sqlite_url: str,
                                                               tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    sandbox.enable_direct_messages()
    token = settings.telegram.token
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana, ben, cleo = sandbox.user(101, "Ana"), sandbox.user(102, "Ben <b>"), sandbox.user(103, "Cleo")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.channel_dm(ana, UNRELATED)
        await bot.settle()
        sandbox.business_message(connection, ben, KNOWN)
        await bot.settle()
        sandbox.business_message(connection, cleo, UNRELATED)
        await bot.settle()
        with bot.sessions() as s:
            ids = {h.user_id: h.id for h in s.scalars(select(Handoff))}
        async with dashboard(bot.runtime.services) as client:
            html = await (await client.get("/dashboard/api/page/inbox", headers=auth(token))).text()
            order = [html.index(f'id="item-{ids[u]}"') for u in (103, 102, 101)]
            assert order == sorted(order)  # newest first
            assert 'data-inbox="channel_dm"' in html and 'data-inbox="business"' in html
            assert "Ben &lt;b&gt;" in html and KNOWN_ANSWER in html

            html = await (await client.post("/dashboard/api/inbox/send", headers=auth(token),
                                            data={"handoff_id": str(ids[102])})).text()
            assert f'id="item-{ids[102]}"' not in html
            await bot.settle()
            (sent,) = sandbox.business_sent[102]
            assert sent["text"].startswith(KNOWN_ANSWER)

            await client.post("/dashboard/api/inbox/answer", headers=auth(token),
                              data={"handoff_id": str(ids[103]), "answer": "Not this time, sorry!"})
            await bot.settle()
            assert sandbox.business_texts_to(103) == ["Not this time, sorry!"]
            again = await (await client.post("/dashboard/api/inbox/answer", headers=auth(token),
                                             data={"handoff_id": str(ids[103]), "answer": "twice?"})).text()
            assert 'class="error"' in again
            await bot.settle()
            assert sandbox.business_texts_to(103) == ["Not this time, sorry!"]

            await client.post("/dashboard/api/inbox/skip", headers=auth(token), data={"handoff_id": str(ids[101])})
            html = await (await client.post("/dashboard/api/inbox/mode", headers=auth(token),
                                            data={"inbox": "business", "mode": "auto"})).text()
            assert "Nothing waiting." in html
        with bot.sessions() as s:
            assert s.get(SettingOverride, "inbox.business").value == "auto"
            assert {e.question for e in s.scalars(select(FaqExample).where(FaqExample.source == "handoff"))} == {
                KNOWN, UNRELATED}
        assert bot.runtime.services.settings.inbox.business == "auto"
