"""Followers get FAQ answers through the real bot; handoffs reach the creator and come back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import texts
from bot.config import Settings
from bot.faq.training import import_and_train
from bot.store.db import upgrade
from bot.store.models import FaqAnswer, FaqExample, Handoff
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.fakes import fake_encoders

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"
UNRELATED = "Do you have a discount code for the Berlin marathon?"


fake_factory = fake_encoders


def prepare(settings: Settings) -> None:
    """Import the sample FAQ and train version 1 with the fake encoder."""
    import_and_train(settings, load_faq(SAMPLE), fake_factory, 0.95)


async def start(settings: Settings, sandbox: BotApiSandbox) -> Any:
    from bot.app import create_runtime
    from tests.fakes import KeywordSentiment

    runtime = create_runtime(settings, encoder_factory=fake_factory, classifier_factory=KeywordSentiment)
    await runtime.start()
    return Harness(runtime, sandbox)


async def test_known_question_gets_the_creators_answer(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    ana = sandbox.user(101, "Ana")
    bot = await start(settings, sandbox)
    try:
        sandbox.send_private(ana, "Which tripod do you use on hikes?")
        await bot.settle()
        (reply,) = sandbox.sent[101]
        assert reply["text"].startswith("My tripod is a carbon Peak Design")
        buttons = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["👍", "👎"]
        sandbox.press(ana, reply, reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
        await bot.settle()
        with bot.sessions() as s:
            answer = s.scalars(select(FaqAnswer)).one()
        assert answer.entry_id == "tripod" and answer.feedback == "up"
        assert sandbox.calls_of("answerCallbackQuery")
        assert "reply_markup" not in sandbox.sent[101][0]  # buttons removed after the vote
    finally:
        await bot.runtime.stop()


async def test_handoff_relay_and_learning(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    ana = sandbox.user(101, "Ana <Runner>")
    maya = sandbox.user(CREATOR_ID, "Maya")
    bot = await start(settings, sandbox)
    try:
        sandbox.send_private(ana, UNRELATED)
        await bot.settle()
        assert bot.replies_to(101) == [texts.HANDOFF_TO_FOLLOWER]
        (note,) = sandbox.sent[CREATOR_ID]
        assert "Ana <Runner>" in note["text"] and UNRELATED in note["text"]
        assert "Ana &lt;Runner&gt;" in sandbox.calls_of("sendMessage")[-1].params["text"] or any(
            "Ana &lt;Runner&gt;" in c.params["text"] for c in sandbox.calls_of("sendMessage"))

        sandbox.send_private(ana, "Any code at all?")  # while the handoff is open: no auto-answer
        await bot.settle()
        assert bot.replies_to(101)[-1] == texts.HANDOFF_STILL_OPEN

        answer = "Yes: MAYA10 gives 10 % off the Berlin marathon <3"
        sandbox.send_private(maya, answer, reply_to=note)
        await bot.settle()
        assert bot.replies_to(101)[-1] == f"💬 The creator answered your question:\n\n{answer}"
        assert bot.replies_to(CREATOR_ID)[-1] == texts.RELAYED_LEARNED
        assert sandbox.sent[CREATOR_ID][-1]["reply_markup"]["inline_keyboard"] == [
            [{"text": texts.FAQ_RETRAIN_BUTTON, "callback_data": "faq:retrain"}]]  # a retrain is offered
        with bot.sessions() as s:
            handoff = s.scalars(select(Handoff)).one()
            assert handoff.status == "answered" and handoff.answer == answer
            learned = s.scalars(select(FaqExample).where(FaqExample.source == "handoff")).all()
            # only the question the creator answered is learned; the follow-up is not (FAQ poisoning)
            assert {e.question for e in learned} == {UNRELATED}

        sandbox.send_private(maya, "/retrain")
        await bot.settle()
        await wait_for(lambda: any(t.startswith("✅ FAQ model v0002 is live") for t in bot.replies_to(CREATOR_ID)),
                       30, "the retrain to finish")
        assert bot.runtime.services.faq_model.version == "v0002"

        sandbox.send_private(ana, UNRELATED)
        await bot.settle()
        assert bot.replies_to(101)[-1] == answer  # answered automatically now
    finally:
        await bot.runtime.stop()


async def test_thumbs_down_and_close(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    ana = sandbox.user(101, "Ana")
    maya = sandbox.user(CREATOR_ID, "Maya")
    bot = await start(settings, sandbox)
    try:
        sandbox.send_private(ana, "What drone do you fly?")
        await bot.settle()
        reply = sandbox.sent[101][0]
        sandbox.press(ana, reply, reply["reply_markup"]["inline_keyboard"][0][1]["callback_data"])
        await bot.settle()
        note = sandbox.sent[CREATOR_ID][-1]
        assert "👎" in note["text"] and "What drone do you fly?" in note["text"]
        sandbox.send_private(maya, "/close", reply_to=note)
        await bot.settle()
        assert bot.replies_to(101)[-1] == texts.HANDOFF_CLOSED_FOLLOWER
        with bot.sessions() as s:
            assert s.scalars(select(Handoff.status)).all() == ["closed"]
            assert s.scalars(select(FaqAnswer.feedback)).all() == ["down"]
    finally:
        await bot.runtime.stop()


async def test_model_published_by_another_process_is_picked_up(
    sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    upgrade(settings.database.url)
    ana = sandbox.user(101, "Ana")
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(ana, "Which tripod do you use?")
        await bot.settle()
        assert bot.replies_to(101) == [texts.HANDOFF_TO_FOLLOWER]  # no model yet: hand off
        prepare(settings)  # like `creatorbot faq train` in another process
        model = bot.runtime.services.faq_model
        assert model is not None and model.reload_if_changed()
        sandbox.send_private(maya, "Which tripod do you use?")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("My tripod")


async def test_faq_list_of_thirty_long_entries_arrives_whole_in_parts_with_buttons_telegram_accepts(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    """Every part of a /faq list longer than one message is sent, and the ✖ button of an entry with a
    60-character id fits Telegram's 64 bytes of callback data and removes that entry."""
    from bot.faq.entries import import_entries
    from bot.store.db import migrated_sessions
    from bot.store.models import FaqEntryRow
    from nlp.faq_data import FaqEntry

    long_id = "how-do-i-book-a-private-landscape-workshop-in-the-dolomites-x"[:60]
    entries = [FaqEntry(long_id if i == 0 else f"entry-{i:02d}-{'x' * 40}",
                        f"Answer {i}: " + "a long and careful answer about gear and travel " * 4,
                        [f"Question {i} about " + "lenses, tripods and the light in the mountains " * 3])
               for i in range(30)]
    settings = settings_for(sandbox, sqlite_url, tmp_path)
    with migrated_sessions(sqlite_url)() as s, s.begin():
        import_entries(s, entries)
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(maya, "/faq list")
        await bot.settle()
        parts = sandbox.sent[CREATOR_ID]
        assert len(parts) >= 2, [len(p["text"]) for p in parts]  # more than one message's worth
        assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in parts)
        listed = "\n".join(p["text"] for p in parts)
        assert all(e.id in listed for e in entries)  # every line of every part arrived
        keyboard = parts[-1]["reply_markup"]["inline_keyboard"]
        assert len(keyboard) == 30 and "reply_markup" not in parts[0]
        data = keyboard[0][0]["callback_data"]
        assert len(data.encode()) <= 64
        sandbox.press(maya, parts[-1], data)
        await bot.settle()
        assert texts.FAQ_REMOVED.split("{")[0] in bot.replies_to(CREATOR_ID)[-1]
    with migrated_sessions(sqlite_url)() as s:
        row = s.get(FaqEntryRow, long_id)
        assert row is not None and row.active is False  # the hashed button found the long id
