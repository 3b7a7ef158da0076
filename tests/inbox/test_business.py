"""The creator's own chats (Telegram Business): connections, drafts (Send / Edit / Skip), what the bot
never answers, and edits and deletions following the stored copy. Through the real bot and the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot import texts
from bot.faq.entries import confirmed_questions
from bot.store.models import (
    BusinessConnection,
    DirectMessage,
    FaqExample,
    Handoff,
    InboxChat,
    OutboxMessage,
    RawUpdate,
    UpdatePerson,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID
from tests.inbox.conftest import KNOWN, KNOWN_ANSWER, UNRELATED, trained


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row}


async def test_draft_mode_nothing_reaches_the_follower_until_send(sandbox: BotApiSandbox, sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("💼 Connected")
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        assert sandbox.business_sent.get(101) is None and 101 not in sandbox.sent  # nothing sent to Ana
        draft = sandbox.sent[CREATOR_ID][-1]
        assert KNOWN in draft["text"] and KNOWN_ANSWER in draft["text"] and "your chats (Business)" in draft["text"]
        buttons = _buttons(draft)
        assert {texts.DRAFT_SEND_BUTTON, texts.DRAFT_EDIT_BUTTON, texts.DRAFT_SKIP_BUTTON,
                texts.NEVER_ANSWER_BUTTON, texts.FORGET_PERSON_BUTTON} <= set(buttons)
        with bot.sessions() as s:
            row = s.scalars(select(Handoff)).one()
            assert (row.kind, row.status, row.inbox, row.suggested_entry_id) == ("draft", "open", "business", "tripod")
            dm = s.scalars(select(DirectMessage).where(DirectMessage.user_id == 101)).one()
            assert (dm.inbox, dm.business_connection_id, dm.direction) == ("business", connection["id"], "in")

        sandbox.press(maya, draft, buttons[texts.DRAFT_SEND_BUTTON])
        await bot.settle()
        (sent,) = sandbox.business_sent[101]
        assert sent["text"].startswith(KNOWN_ANSWER)  # the creator's words, as the creator
        call = next(c for c in sandbox.calls_of("sendMessage") if c.params.get("business_connection_id"))
        assert call.params["business_connection_id"] == connection["id"] and call.params["chat_id"] == 101
        assert 101 not in sandbox.sent
        assert "reply_markup" not in draft  # buttons removed once decided
        with bot.sessions() as s:
            row = s.scalars(select(Handoff)).one()
            assert row.status == "answered" and row.learned_entry_id == "tripod"
            assert s.scalars(select(FaqExample).where(FaqExample.question == KNOWN)).one().entry_id == "tripod"
            assert confirmed_questions(s) == {KNOWN}  # the model's own answer, confirmed
        sandbox.press(maya, draft, buttons[texts.DRAFT_SEND_BUTTON])  # a second press sends nothing more
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 1


async def test_edit_sends_the_creators_text_and_learns_it(sandbox: BotApiSandbox, sqlite_url: str,
                                                          tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ben = sandbox.user(102, "Ben")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ben, UNRELATED)
        await bot.settle()
        draft = sandbox.sent[CREATOR_ID][-1]
        buttons = _buttons(draft)
        assert texts.DRAFT_SEND_BUTTON not in buttons  # the FAQ had no answer: only Edit or Skip
        sandbox.press(maya, draft, buttons[texts.DRAFT_EDIT_BUTTON])
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✏️")
        assert sandbox.business_sent.get(102) is None
        sandbox.send_private(maya, "Sure, MAYA10 gives 10 % off")
        await bot.settle()
        assert sandbox.business_texts_to(102) == ["Sure, MAYA10 gives 10 % off"]
        with bot.sessions() as s:
            row = s.scalars(select(Handoff)).one()
            assert (row.status, row.answer) == ("answered", "Sure, MAYA10 gives 10 % off")
            learned = s.scalars(select(FaqExample).where(FaqExample.source == "handoff")).all()
            assert [e.question for e in learned] == [UNRELATED]
            assert confirmed_questions(s) == set()  # the creator's own answer: as any handoff


async def test_skip_and_never_answer_here(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        draft = sandbox.sent[CREATOR_ID][-1]
        sandbox.press(maya, draft, _buttons(draft)[texts.DRAFT_SKIP_BUTTON])
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.DRAFT_SKIPPED
        sandbox.business_message(connection, ana, "What tripod is that?")
        await bot.settle()
        second = sandbox.sent[CREATOR_ID][-1]
        sandbox.press(maya, second, _buttons(second)[texts.NEVER_ANSWER_BUTTON])
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.NEVER_ANSWER_DONE
        drafts_before = len(sandbox.sent[CREATOR_ID])
        sandbox.business_message(connection, ana, "Can you recommend a light tripod for hiking?")
        await bot.settle()
        assert len(sandbox.sent[CREATOR_ID]) == drafts_before  # the chat is left to the creator
        assert sandbox.business_sent.get(101) is None
        with bot.sessions() as s:
            assert s.scalars(select(InboxChat.excluded)).all() == [True]
            assert len(s.scalars(select(DirectMessage).where(DirectMessage.inbox == "business")).all()) == 3


async def test_auto_mode_answers_through_the_connection(sandbox: BotApiSandbox, sqlite_url: str,
                                                        tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path, inbox={"business": "auto"})
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ana, KNOWN)
        sandbox.business_message(connection, ana, "hi!")  # small talk: the bot does not chat as the creator
        await bot.settle()
        (answer,) = sandbox.business_sent[101]
        assert answer["text"].startswith(KNOWN_ANSWER) and "reply_markup" not in answer
        sandbox.business_message(connection, ana, UNRELATED)
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 1  # a handoff: no "I passed it on" in the creator's name
        assert UNRELATED in sandbox.sent[CREATOR_ID][-1]["text"]


async def test_the_echo_of_a_business_reply_arriving_before_the_sent_copy_is_recorded_sends_once(
        sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    """Telegram's business_message echo of the bot's reply is handled while sendMessage has not returned
    yet: the copy it stores first is the one the sender would record; nothing fails, nothing goes twice."""
    settings = trained(sandbox, db_url, tmp_path, inbox={"business": "auto"})
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        await bot.settle()
        sandbox.echo_business_sends, sandbox.business_reply_delay = True, 1.5
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        await asyncio.sleep(2.0)  # a retry, if anything made one, has had its chance
        await bot.settle()
        (answer,) = sandbox.business_sent[101]
        assert answer["text"].startswith(KNOWN_ANSWER)
        with bot.sessions() as s:
            echo = s.scalars(select(RawUpdate).where(RawUpdate.kind == "business_message")
                             .order_by(RawUpdate.id.desc())).first()
            row = s.scalars(select(OutboxMessage).where(OutboxMessage.params["business_connection_id"].isnot(None),
                                                        OutboxMessage.chat_id == 101)).one()
            assert echo is not None and echo.payload["business_message"]["message_id"] == answer["message_id"]
            assert echo.status == "done" and echo.processed_at is not None and row.sent_at is not None
            assert echo.processed_at < row.sent_at  # the echo was stored before the sender recorded its copy
            assert (row.status, row.attempts, row.sent_message_id) == ("sent", 1, answer["message_id"])
            copies = s.scalars(select(DirectMessage).where(DirectMessage.message_id == answer["message_id"])).all()
            assert [(c.direction, c.from_creator) for c in copies] == [("out", False)]
            assert s.scalars(select(RawUpdate.error).where(RawUpdate.status != "done")).all() == []
        sandbox.business_message(connection, ana, KNOWN + " really?")  # the chat goes on: the echo paused nothing
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 2


async def test_connection_of_someone_who_is_not_a_creator_is_refused(sandbox: BotApiSandbox, sqlite_url: str,
                                                                     tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path, inbox={"business": "auto"})
    mallory = sandbox.user(666, "Mallory")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(mallory)
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        assert sandbox.business_sent == {} and 666 not in sandbox.sent and 101 not in sandbox.sent
        assert CREATOR_ID not in sandbox.sent
        with bot.sessions() as s:
            row = s.get(BusinessConnection, connection["id"])
            assert row is not None and row.accepted is False
            assert s.scalars(select(DirectMessage).where(DirectMessage.inbox == "business")).all() == []
            # nor the update that brought Ana's words: its id and kind only, whatever the retention setting
            (raw,) = s.scalars(select(RawUpdate).where(RawUpdate.kind == "business_message")).all()
            assert KNOWN not in str(raw.payload) and "Ana" not in str(raw.payload), raw.payload
            assert s.scalars(select(UpdatePerson).where(UpdatePerson.raw_id == raw.id)).all() == []


async def test_a_connection_whose_owner_is_no_longer_the_creator_is_refused_from_then_on(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """Ownership is checked on every use: the account that connected was the creator's, and is not any more."""
    settings = trained(sandbox, sqlite_url, tmp_path, inbox={"business": "auto"})
    maya, ana = sandbox.user(CREATOR_ID, "Maya"), sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        await bot.settle()
        with bot.sessions() as s, s.begin():
            s.execute(update(BusinessConnection).values(user_id=777))  # another account's connection now
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        assert sandbox.business_sent == {}
        with bot.sessions() as s:
            assert s.scalars(select(DirectMessage).where(DirectMessage.inbox == "business")).all() == []


async def test_no_reply_right_or_disabled_connection_sends_nothing(sandbox: BotApiSandbox, sqlite_url: str,
                                                                   tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path, inbox={"business": "auto"})
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya, can_reply=False)
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID) == [texts.BUSINESS_CONNECTED_NO_REPLY]
        sandbox.connect_business(maya, connection_id=connection["id"])  # reply allowed now
        sandbox.business_message(connection, ana, "What tripod is that?")
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 1
        sandbox.connect_business(maya, connection_id=connection["id"], enabled=False)
        sandbox.business_message(connection, ana, "Can you recommend a light tripod for hiking?")
        await bot.settle()
        assert len(sandbox.business_sent[101]) == 1
        assert bot.replies_to(CREATOR_ID)[-1] == texts.BUSINESS_DISCONNECTED
        with bot.sessions() as s:
            assert len(s.scalars(select(DirectMessage).where(DirectMessage.inbox == "business",
                                                             DirectMessage.direction == "in")).all()) == 3


async def test_the_creators_own_messages_are_never_answered(sandbox: BotApiSandbox, sqlite_url: str,
                                                            tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path, inbox={"business": "auto"})
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    ben = sandbox.user(102, "Ben")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ana, KNOWN, outgoing=True)  # Maya asks Ana: not a question to answer
        await bot.settle()
        assert sandbox.business_sent == {}
        sandbox.business_message(connection, ana, "What tripod is that?")  # Ana answers back: Maya is active here
        sandbox.business_message(connection, ben, "What tripod is that?")  # Ben's chat is not
        await bot.settle()
        assert sandbox.business_sent.get(101) is None
        assert len(sandbox.business_sent[102]) == 1
        with bot.sessions() as s:
            mine = s.scalars(select(DirectMessage).where(DirectMessage.direction == "out",
                                                         DirectMessage.from_creator.is_(True))).one()
            assert (mine.user_id, mine.text) == (101, KNOWN)


async def test_edited_and_deleted_business_messages(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    settings = trained(sandbox, db_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        first = sandbox.business_message(connection, ana, "my address is Elm Street 5")
        second = sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        sandbox.edit_business_message(second, "Which tripod do you use?")
        await bot.settle()
        with bot.sessions() as s:
            texts_now = {d.message_id: d.text for d in s.scalars(select(DirectMessage).where(
                DirectMessage.inbox == "business"))}
            assert texts_now[second["message_id"]] == "Which tripod do you use?"
        sandbox.delete_business_messages(connection, ana, [first["message_id"]])
        await bot.settle()
        with bot.sessions() as s:
            left = s.scalars(select(DirectMessage.message_id).where(DirectMessage.inbox == "business")).all()
            assert left == [second["message_id"]]
            payloads = [r.payload for r in s.scalars(select(RawUpdate))]
            assert not any("Elm Street" in str(p) for p in payloads)  # the update that brought it is emptied


async def test_a_draft_approved_after_the_connection_ended_is_not_sent(sandbox: BotApiSandbox, sqlite_url: str,
                                                                       tmp_path: Path) -> None:
    settings = trained(sandbox, sqlite_url, tmp_path)
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        connection = sandbox.connect_business(maya)
        sandbox.business_message(connection, ana, KNOWN)
        await bot.settle()
        draft = sandbox.sent[CREATOR_ID][-1]
        sandbox.connect_business(maya, connection_id=connection["id"], can_reply=False)
        await bot.settle()
        sandbox.press(maya, draft, _buttons(draft)[texts.DRAFT_SEND_BUTTON])
        sandbox.send_private(maya, "my own words", reply_to=draft)
        await bot.settle()
        assert sandbox.business_sent.get(101) is None
        assert bot.replies_to(CREATOR_ID)[-2:] == [texts.INBOX_CLOSED] * 2
        with bot.sessions() as s:
            assert s.scalars(select(Handoff.status)).all() == ["open"]  # still waiting for the creator


async def test_sandbox_refuses_sends_through_unknown_disabled_or_read_only_connections(
        sandbox: BotApiSandbox) -> None:
    from aiohttp import ClientSession

    maya, ana = sandbox.user(CREATOR_ID, "Maya"), sandbox.user(101, "Ana")
    url = f"{sandbox.base_url}{sandbox.token}/sendMessage"
    async with ClientSession() as http:
        async def send(connection_id: str) -> int:
            async with http.post(url, json={"chat_id": ana["id"], "text": "x",
                                            "business_connection_id": connection_id}) as resp:
                return resp.status

        assert await send("nope") == 400
        read_only = sandbox.connect_business(maya, can_reply=False)
        assert await send(read_only["id"]) == 403
        sandbox.connect_business(maya, connection_id=read_only["id"])
        assert await send(read_only["id"]) == 200
        sandbox.connect_business(maya, connection_id=read_only["id"], enabled=False)
        assert await send(read_only["id"]) == 400
    assert len(sandbox.business_sent[101]) == 1
