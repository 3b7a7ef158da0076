"""Privacy and limits across inboxes: /forgetme reaches every inbox; the creator's 'forget this person'
for someone who only wrote in a Business chat or a topic; one rate limit per person across inboxes;
reports count questions per inbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot import texts
from bot.reports.report import build_report, render_text
from bot.store.models import (
    DirectMessage,
    Handoff,
    InboxChat,
    OutboxMessage,
    RawUpdate,
    UpdatePerson,
    utcnow,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for
from tests.inbox.conftest import KNOWN, UNRELATED, prepare, trained


def _about(bot: Any, user_id: int) -> dict[str, int]:
    with bot.sessions() as s:
        return {
            "direct_messages": s.scalar(select(func.count()).select_from(DirectMessage).where(
                DirectMessage.user_id == user_id)) or 0,
            "handoffs": s.scalar(select(func.count()).select_from(Handoff).where(Handoff.user_id == user_id)) or 0,
            "inbox_chats": s.scalar(select(func.count()).select_from(InboxChat).where(
                InboxChat.user_id == user_id)) or 0,
            "raw": s.scalar(select(func.count()).select_from(UpdatePerson).where(UpdatePerson.user_id == user_id)) or 0,
            "topic_outbox": sum(1 for r in s.scalars(select(OutboxMessage)) if (r.params or {}).get(
                "direct_messages_topic_id") is not None),
        }


async def test_forgetme_reaches_every_inbox(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.channel_dm(ana, KNOWN)
        sandbox.business_message(connection, ana, UNRELATED)
        await bot.settle()
        before = _about(bot, 101)
        assert before["direct_messages"] == 2 and before["handoffs"] == 1 and before["inbox_chats"] == 2
        assert before["topic_outbox"] == 1
        sandbox.send_private(ana, "/forgetme")
        await bot.settle()
        assert _about(bot, 101) == {"direct_messages": 0, "handoffs": 0, "inbox_chats": 0, "raw": 0,
                                    "topic_outbox": 0}
        with bot.sessions() as s:
            assert not any(KNOWN in str(r.payload) or UNRELATED in str(r.payload)
                           for r in s.scalars(select(RawUpdate)))


async def test_forget_this_person_from_a_business_draft(sandbox: BotApiSandbox, sqlite_url: str,
                                                        tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ben = sandbox.user(102, "Ben")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ben, KNOWN)
        await bot.settle()
        draft = sandbox.sent[CREATOR_ID][-1]
        data = {b["text"]: b["callback_data"] for row in draft["reply_markup"]["inline_keyboard"] for b in row}
        sandbox.press(maya, draft, data[texts.FORGET_PERSON_BUTTON])
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("🗑 Forgotten")
        assert _about(bot, 102) == {"direct_messages": 0, "handoffs": 0, "inbox_chats": 0, "raw": 0,
                                    "topic_outbox": 0}
        with bot.sessions() as s:
            assert not any(KNOWN in str(r.payload) for r in s.scalars(select(RawUpdate)))
        sandbox.press(sandbox.user(101, "Ana"), draft, data[texts.FORGET_PERSON_BUTTON])  # not the creator's hand
        await bot.settle()


async def test_one_rate_limit_per_person_across_inboxes(sandbox: BotApiSandbox, sqlite_url: str,
                                                        tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", limits={"follower_messages_per_minute": 3},
                            inbox={"business": "auto"})
    prepare(settings)
    sandbox.enable_direct_messages()
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        await bot.settle()
        sandbox.send_private(ana, KNOWN)
        sandbox.channel_dm(ana, KNOWN)
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        answered = len(sandbox.sent.get(101, [])) + len(sandbox.dm_texts_to(101)) + len(sandbox.business_sent.get(101, []))
        assert answered == 3
        sandbox.business_message(connection, ana, "What tripod is that?")
        sandbox.channel_dm(ana, "What tripod is that?")
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 1 and len(sandbox.dm_texts_to(101)) == 1  # over the limit
        with bot.sessions() as s:  # still stored
            assert s.scalar(select(func.count()).select_from(DirectMessage).where(
                DirectMessage.user_id == 101, DirectMessage.direction == "in", DirectMessage.inbox == "channel_dm")) == 2


async def test_reports_count_questions_per_inbox(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana, ben = sandbox.user(101, "Ana"), sandbox.user(102, "Ben")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.send_private(ana, KNOWN)
        sandbox.channel_dm(ben, KNOWN)
        sandbox.channel_dm(ana, UNRELATED)
        sandbox.business_message(connection, ben, UNRELATED)
        await bot.settle()
        with bot.sessions() as s:
            report = build_report(s, settings, "week", utcnow() + timedelta(minutes=1))
        assert report.questions_by_inbox == {"bot": 1, "channel_dm": 2, "business": 1}
        assert "Questions by inbox: bot chat 1 · channel direct messages 2 · your chats (Business) 1" in \
            render_text(report, settings.tz)
