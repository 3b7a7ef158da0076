"""Modes per inbox (/inbox mode, stored with the chat settings) and one queue of handoffs and drafts
from every inbox, newest first, with where each came from; the digest covers them all."""

from __future__ import annotations

import html
from pathlib import Path

from sqlalchemy import select

from bot import texts
from bot.store.models import Handoff, SettingOverride
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for
from tests.inbox.conftest import KNOWN, KNOWN_ANSWER, UNRELATED, trained


async def test_modes_are_set_in_the_chat_and_obeyed(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(maya, "/inbox mode bot sometimes")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == html.unescape(texts.INBOX_MODE_USAGE)
        sandbox.send_private(maya, "/inbox mode bot draft")
        sandbox.send_private(maya, "/inbox mode channel off")
        await bot.settle()
        assert "draft" in bot.replies_to(CREATOR_ID)[-2] and "off" in bot.replies_to(CREATOR_ID)[-1]
        with bot.sessions() as s:
            stored = {r.key: r.value for r in s.scalars(select(SettingOverride))}
        assert stored == {"inbox.bot_chat": "draft", "inbox.channel_dm": "off"}
        assert bot.runtime.services.settings.inbox.business == "draft"  # the default stays

        sandbox.send_private(ana, KNOWN)  # the bot's own chat in draft mode: a draft, nothing sent
        sandbox.channel_dm(ana, KNOWN)  # channel direct messages off: stored, left to the creator
        await bot.settle()
        assert 101 not in sandbox.sent and sandbox.dm_texts_to(101) == []
        draft = sandbox.sent[CREATOR_ID][-1]
        assert KNOWN_ANSWER in draft["text"] and "bot chat" in draft["text"]
        with bot.sessions() as s:
            assert s.scalars(select(Handoff.kind)).all() == ["draft"]
        send = draft["reply_markup"]["inline_keyboard"][0][0]
        sandbox.press(maya, draft, send["callback_data"])
        await bot.settle()
        (answer,) = sandbox.sent[101]
        assert answer["text"].startswith(KNOWN_ANSWER)


async def test_one_queue_for_every_inbox(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana, ben, cleo = sandbox.user(101, "Ana"), sandbox.user(102, "Ben"), sandbox.user(103, "Cleo")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.send_private(ana, UNRELATED)
        await bot.settle()
        sandbox.channel_dm(ben, UNRELATED)
        await bot.settle()
        sandbox.business_message(connection, cleo, KNOWN)
        await bot.settle()
        sandbox.send_private(maya, "/inbox")
        await bot.settle()
        listing = bot.replies_to(CREATOR_ID)[-1]
        lines = [line for line in listing.splitlines() if "#" in line]
        assert lines[0].startswith("💼") and "draft" in lines[0] and "Cleo" in lines[0]
        assert lines[1].startswith("📢") and "Ben" in lines[1]
        assert lines[2].startswith("🤖") and "Ana" in lines[2]
        assert "3 waiting" in listing and "your chats (Business): draft" in listing


def test_the_digest_covers_every_inbox(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    from bot.faq.handoffs import send_digest
    from bot.store.db import migrated_sessions
    from bot.store.models import OutboxMessage

    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    sessions = migrated_sessions(sqlite_url)
    with sessions() as s, s.begin():
        for user_id, inbox in ((101, "bot"), (102, "channel_dm"), (103, "business")):
            s.add(Handoff(user_id=user_id, chat_id=user_id, question=f"question of {user_id}", reason="unsure",
                          inbox=inbox, kind="draft" if inbox == "business" else "handoff"))
        s.flush()
        assert send_digest(s, settings) == 3
        (digest,) = s.scalars(select(OutboxMessage)).all()
    lines = [line for line in digest.params["text"].splitlines() if line.startswith("#")]
    assert [line.split()[1] for line in lines] == ["🤖", "📢", "💼"]
