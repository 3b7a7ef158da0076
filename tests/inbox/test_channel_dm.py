"""The channel's direct messages: a follower's question is answered in their topic, handed off like
any question, stored with its inbox; the sandbox refuses a send to a topic it does not know."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import texts
from bot.kernel.chats import RECHECK_RIGHTS
from bot.kernel.export import export_zip
from bot.store.models import DirectMessage, FaqAnswer, Handoff, KnownChat, utcnow
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID
from tests.inbox.conftest import KNOWN, KNOWN_ANSWER, UNRELATED, trained


async def test_question_in_a_topic_is_answered_in_that_topic(sandbox: BotApiSandbox, sqlite_url: str,
                                                             tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    dm_chat = sandbox.enable_direct_messages()
    ana = sandbox.user(101, "Ana")
    ben = sandbox.user(102, "Ben")
    async with running_bot(settings, sandbox) as bot:
        sandbox.channel_dm(ana, KNOWN)
        sandbox.channel_dm(ben, "hello there, unrelated thing")  # another follower: another topic
        await bot.settle()
        (answer,) = sandbox.dm_texts_to(101)
        assert answer.startswith(KNOWN_ANSWER)
        call = next(c for c in sandbox.calls_of("sendMessage") if c.params.get("chat_id") == dm_chat["id"])
        assert call.params["direct_messages_topic_id"] == sandbox.dm_topics[101]["topic_id"]
        assert "reply_markup" not in call.params  # no 👍/👎 under the channel's answer
        assert 101 not in sandbox.sent  # nothing went to the bot's own chat with Ana
        with bot.sessions() as s:
            dm = s.scalars(select(DirectMessage).where(DirectMessage.user_id == 101)).one()
            assert (dm.inbox, dm.chat_id, dm.topic_id, dm.text) == ("channel_dm", dm_chat["id"], 1, KNOWN)
            assert s.scalars(select(FaqAnswer.inbox)).all() == ["channel_dm"]
            known = s.get(KnownChat, dm_chat["id"])
            assert known is not None and known.parent_chat_id == sandbox.channel["id"]
            with zipfile.ZipFile(io.BytesIO(export_zip(s))) as zf:  # /export says which inbox each came from
                rows = list(csv.DictReader(io.StringIO(zf.read("direct_messages.csv").decode())))
            assert {(r["user_id"], r["inbox"], r["text"]) for r in rows if r["user_id"] == "101"} == {
                ("101", "channel_dm", KNOWN)}


async def test_handoff_from_a_topic_and_the_creators_reply_goes_back_there(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    ana = sandbox.user(101, "Ana")
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        sandbox.channel_dm(ana, UNRELATED)
        await bot.settle()
        assert sandbox.dm_texts_to(101) == [texts.HANDOFF_TO_FOLLOWER]
        note = sandbox.sent[CREATOR_ID][-1]
        assert UNRELATED in note["text"] and "channel direct messages" in note["text"]
        sandbox.send_private(maya, "Yes: MAYA10", reply_to=note)
        await bot.settle()
        assert sandbox.dm_texts_to(101)[-1] == "💬 The creator answered your question:\n\nYes: MAYA10"
        assert 101 not in sandbox.sent
        with bot.sessions() as s:
            handoff = s.scalars(select(Handoff)).one()
            assert (handoff.inbox, handoff.status, handoff.topic_id) == ("channel_dm", "answered", 1)


async def test_without_the_right_to_manage_direct_messages_nothing_is_answered(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    sandbox.dm_rights = False
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        sandbox.channel_dm(ana, KNOWN)
        await bot.settle()
        assert sandbox.dm_texts_to(101) == []
        with bot.sessions() as s:
            assert s.scalars(select(DirectMessage)).all() == []  # not our chat to read: nothing stored
        assert not sandbox.calls_of("leaveChat")  # the channel's own chat: nothing to leave
        sandbox.dm_rights = True  # the creator gives the bot the right; it asks again after a while
        with bot.sessions() as s, s.begin():
            row = s.get(KnownChat, sandbox.direct_messages["id"])
            assert row is not None and row.bot_status == "no_rights"
            row.updated_at = utcnow() - RECHECK_RIGHTS - timedelta(seconds=1)
        sandbox.channel_dm(ana, KNOWN)
        await bot.settle()
        assert sandbox.dm_texts_to(101)[0].startswith(KNOWN_ANSWER)


async def test_sandbox_refuses_an_unknown_topic(sandbox: BotApiSandbox) -> None:
    from aiohttp import ClientSession

    dm_chat = sandbox.enable_direct_messages()
    sandbox.channel_dm(sandbox.user(101, "Ana"), "hi")
    async with ClientSession() as http:
        url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
        async with http.post(url, json={"chat_id": dm_chat["id"], "text": "x", "direct_messages_topic_id": 99}) as r:
            assert r.status == 400 and "TOPIC" in (await r.json())["description"]
        async with http.post(url, json={"chat_id": dm_chat["id"], "text": "x"}) as r:
            assert r.status == 400  # a send to the direct-messages chat must name a topic
        async with http.post(url, json={"chat_id": dm_chat["id"], "text": "x", "direct_messages_topic_id": 1}) as r:
            assert r.status == 200


async def test_a_failing_getchat_delays_the_question_and_never_loses_it(sandbox: BotApiSandbox, sqlite_url: str,
                                                                         tmp_path: Path) -> None:
    """The lookup the gate makes on the side (is this the channel's direct messages?) meets Telegram
    failing four times in a row, more than the attempts an update's own error gets: the question waits
    and is answered, not dead-lettered."""
    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        before = sum(c.method == "getChat" for c in sandbox.calls)
        sandbox.fail_next("getChat", times=4, code=502, description="Bad Gateway")
        sandbox.channel_dm(ana, KNOWN)
        await bot.settle(30)
        (answer,) = sandbox.dm_texts_to(101)
        assert answer.startswith(KNOWN_ANSWER)
        tries = [c.ok for c in sandbox.calls if c.method == "getChat"][before:]
        assert tries[:5] == [False, False, False, False, True], tries  # four failures, then the one that worked
        assert not any("failed" in t for t in bot.replies_to(CREATOR_ID))  # no dead-letter notice


async def test_an_admin_writing_in_a_followers_topic_is_not_the_topic_and_pauses_the_bot_there(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """The topic belongs to the follower Telegram opened it for, never to whoever writes in it; an admin's
    message there is not a question, and the "creator active here" pause holds in the topic as in Business."""
    from bot.store.models import InboxChat

    settings = trained(sandbox, sqlite_url, tmp_path)
    sandbox.enable_direct_messages()
    ana, bob = sandbox.user(101, "Ana"), sandbox.user(555, "Bob the channel's admin")
    async with running_bot(settings, sandbox) as bot:
        sandbox.channel_dm(ana, "hello")  # Ana's topic exists
        await bot.settle()
        answered = len(sandbox.dm_texts_to(101))
        sandbox.channel_dm(ana, KNOWN, writer=bob)  # Bob writes in Ana's topic
        await bot.settle()
        sandbox.channel_dm(ana, KNOWN)  # Ana asks while Bob is active in her topic
        await bot.settle()
        assert len(sandbox.dm_texts_to(101)) == answered  # neither Bob's message nor Ana's was answered
        with bot.sessions() as s:
            (chat,) = s.scalars(select(InboxChat).where(InboxChat.inbox == "channel_dm")).all()
            assert chat.user_id == 101 and chat.creator_last_at is not None
            assert s.scalars(select(DirectMessage.user_id).where(DirectMessage.direction == "in")).all() == [101, 101]
