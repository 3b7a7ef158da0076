"""Nobody gets in where they don't belong, through the real bot (issue 11: 4, 5, 6, 10, 12, 13, 14, 16)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.faq.entries import pending_examples, review_examples, training_entries
from bot.kernel.limits import FollowerLimiter
from bot.store.models import (
    ChannelPost,
    Comment,
    FaqExample,
    Handoff,
    KnownChat,
    OutboxMessage,
    RawUpdate,
    Reminder,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

FOREIGN_CHANNEL = {"id": -1009990001, "type": "channel", "title": "Someone else's channel"}
FOREIGN_GROUP = {"id": -1009990002, "type": "supergroup", "title": "Someone else's group"}
INBOX = {"id": -1009990003, "type": "supergroup", "title": "Maya's inbox"}


def _command(sandbox: BotApiSandbox, chat: dict[str, Any], user: dict[str, Any], text: str,
             edited: bool = False) -> dict[str, Any]:
    msg = sandbox._new_message(chat, **{"from": user, "text": text, "entities": [
        {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]})
    if edited:
        msg["edit_date"] = msg["date"] + 1
    sandbox.push_update({"edited_message" if edited else "message": msg})
    return msg


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_creator_commands_only_in_private_or_inbox_and_never_from_edits(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        for command in ("/stats", "/export", "/report week"):
            _command(sandbox, sandbox.group, maya, command)
        _command(sandbox, sandbox.group, ana, "/export")
        await bot.settle()
        assert sandbox.sent.get(sandbox.group["id"], []) == []  # nothing posted to the group's members
        assert not sandbox.calls_of("sendDocument") and not sandbox.calls_of("sendPhoto")
        assert bot.replies_to(CREATOR_ID) == [texts.CREATOR_CHAT_ONLY] * 3  # told in private, not in public
        assert bot.replies_to(101) == []

        sent_before = len(sandbox.calls)
        _command(sandbox, sandbox.chats[CREATOR_ID], maya, "/remind in 2h post the sunrise set", edited=True)
        _command(sandbox, sandbox.chats[CREATOR_ID], maya, "/export", edited=True)
        await bot.settle()
        with bot.sessions() as s:
            assert s.scalars(select(Reminder).where(Reminder.kind == "manual")).all() == []
        assert not sandbox.calls_of("sendDocument")
        assert not [c for c in sandbox.calls[sent_before:] if c.method == "sendMessage"]

        _command(sandbox, sandbox.chats[CREATOR_ID], maya, "/stats")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("Stored so far")


def _bot_added(sandbox: BotApiSandbox, chat: dict[str, Any], by: dict[str, Any]) -> None:
    admin = {"status": "administrator", "user": sandbox.bot_user, "can_be_edited": False, "is_anonymous": False,
             "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
             "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
             "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
             "can_delete_stories": False}
    sandbox.push_update({"my_chat_member": {
        "chat": chat, "from": by, "date": int(time.time()),
        "old_chat_member": {"status": "left", "user": sandbox.bot_user}, "new_chat_member": admin}})


async def test_foreign_chats_are_left_and_nothing_of_them_is_stored(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    eve = sandbox.user(666, "Eve")
    for chat in (FOREIGN_CHANNEL, FOREIGN_GROUP):
        sandbox.chats[chat["id"]] = chat
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        _bot_added(sandbox, FOREIGN_CHANNEL, by=maya)  # the creator: offered for setup, not left
        _bot_added(sandbox, FOREIGN_GROUP, by=eve)  # anyone else: left
        for i in range(3):
            post = sandbox._new_message(FOREIGN_CHANNEL, sender_chat=FOREIGN_CHANNEL, text=f"FAKE SURGE {i} #scam")
            sandbox.push_update({"channel_post": post})
            msg = sandbox._new_message(FOREIGN_GROUP, **{"from": eve, "text": f"injected comment {i}, awful"})
            sandbox.push_update({"message": msg})
        await bot.settle()
        left = [c.params["chat_id"] for c in sandbox.calls_of("leaveChat")]
        assert left == [FOREIGN_GROUP["id"]]  # once, however many messages came
        offers = bot.replies_to(CREATOR_ID)
        assert len(offers) == 1 and FOREIGN_CHANNEL["title"] in offers[0]
        with bot.sessions() as s:
            assert s.scalars(select(ChannelPost)).all() == [] and s.scalars(select(Comment)).all() == []
            assert [k.chat_id for k in s.scalars(select(KnownChat))] == [FOREIGN_CHANNEL["id"]]
            raws = s.scalars(select(RawUpdate)).all()
            assert len(raws) == 8 and all(r.status == "done" for r in raws)  # every update has its row ...
            dump = repr([r.payload for r in raws])
        assert "FAKE SURGE" not in dump and "injected" not in dump and "Eve" not in dump  # ... and no content


async def test_handoff_reply_in_the_inbox_group_is_relayed(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    sandbox.chats[INBOX["id"]] = INBOX
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    settings = settings_for(sandbox, sqlite_url, tmp_path, creator={"inbox_chat_id": INBOX["id"]},
                            channel={"discussion_group_id": 0})
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(ana, "Where do you buy film?")
        await bot.settle()
        (note,) = sandbox.sent[INBOX["id"]]
        reply = sandbox._new_message(INBOX, **{"from": maya, "text": "At the corner shop", "reply_to_message": note})
        sandbox.push_update({"message": reply})
        await bot.settle()
        assert bot.replies_to(101)[-1].endswith("At the corner shop")
        with bot.sessions() as s:
            assert s.scalars(select(Comment)).all() == []  # not taken for a comment


async def test_only_the_answered_question_is_learned_and_review_queue(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    mallory = sandbox.user(102, "Mallory")
    settings = settings_for(sandbox, sqlite_url, tmp_path, faq={"auto_accept_answers": False})
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(mallory, "Do you ship to Norway?")
        await bot.settle()
        (note,) = sandbox.sent[CREATOR_ID]
        for poison in ("What is your discount code?", "How do I get a refund?", "Is the course free?"):
            sandbox.send_private(mallory, poison)  # follow-ups while the handoff is open
        await bot.settle()
        sandbox.send_private(maya, "Yes, shipping is free", reply_to=note)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.RELAYED_PENDING
        with bot.sessions() as s, s.begin():
            learned = s.scalars(select(FaqExample).where(FaqExample.source == "handoff")).all()
            assert [(e.question, e.status) for e in learned] == [("Do you ship to Norway?", "pending")]
            assert training_entries(s) == []  # nothing trains on it before review
            ((example, answer),) = pending_examples(s)
            assert answer == "Yes, shipping is free"
            assert review_examples(s, [example.id], []) == (1, 0)
        with bot.sessions() as s:
            (entry,) = training_entries(s)
            assert entry.questions == ["Do you ship to Norway?"]


FORGED = ["fb:1:2:3", "fb:abc:up", "fb:1:sideways", "fb:-1:up", "fb:99999999999999999999999:up", "rm:",
          "rm:1:up", "rm:0", "sl:1:evil", "sl:1", "zz:1", "", ":", "fb", "\x00\xff", "fb:1:up\n", "🙂:1:up",
          "rm:1" + " " * 60, "sl:1:neu:extra"]


@pytest.mark.parametrize("who", [101, CREATOR_ID])
async def test_forged_callback_data_is_expired_never_a_traceback(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, who: int) -> None:
    user = sandbox.user(who, "Presser")
    sandbox.user(CREATOR_ID, "Maya") if who != CREATOR_ID else None
    settings = settings_for(sandbox, sqlite_url, tmp_path, limits={"follower_messages_per_minute": 100,
                                                                   "send_per_chat_per_second": 100.0})
    async with running_bot(settings, sandbox) as bot:
        message = {"message_id": 5, "date": int(time.time()), "chat": sandbox.chats[who], "text": "hi"}
        for data in FORGED:
            sandbox.press(user, message, data)
        sandbox.push_update({"callback_query": {"id": "no-data", "from": user, "chat_instance": "1",
                                                "message": message}})
        await bot.settle()
        with bot.sessions() as s:
            assert [r.status for r in s.scalars(select(RawUpdate))] == ["done"] * (len(FORGED) + 1)
        toasts = [c.params.get("text") for c in sandbox.calls_of("answerCallbackQuery")]
        assert len(toasts) == len(FORGED) + 1
        assert set(toasts) <= {texts.FEEDBACK_UNKNOWN, texts.REMINDER_GONE, texts.RELABEL_FAILED}
        assert not any("went wrong" in t for t in bot.replies_to(CREATOR_ID))


async def test_every_follower_triggered_reply_is_rate_limited(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, limits={"follower_messages_per_minute": 3})
    async with running_bot(settings, sandbox) as bot:
        message = {"message_id": 5, "date": int(time.time()), "chat": sandbox.chats[101], "text": "hi"}
        for i in range(4):
            sandbox.send_private(ana, "/start")
            sandbox.send_private(ana, "/help")
            sandbox.send_private(ana, "/stats")  # the refusal is a reply too
            sandbox.press(ana, message, f"fb:{i + 1}:up")
        await bot.settle()
        assert len(bot.replies_to(101)) == 4  # three answers and one "slow down"
        assert bot.replies_to(101)[-1] == texts.SLOW_DOWN
        assert len(sandbox.calls_of("answerCallbackQuery")) == 0  # the presses came after the limit
        with bot.sessions() as s:
            assert len(s.scalars(select(RawUpdate)).all()) == 16  # everything stored


def test_follower_limiter_state_is_bounded_and_pruned() -> None:
    limiter = FollowerLimiter(per_minute=2, max_people=100)
    assert [limiter.check(1, t) for t in (0.0, 1.0, 2.0, 3.0)] == ["ok", "ok", "crossed", "over"]
    assert limiter.check(1, 200.0) == "ok"  # a minute later the window is empty again
    for uid in range(10_000):
        limiter.check(uid, 300.0)
    assert len(limiter) == 100
    for _ in range(1000):
        limiter.check(7, 400.0)
    assert len(limiter._windows[7]) <= 4


async def test_reminders_are_capped_and_absurd_times_get_the_usage(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    settings = settings_for(sandbox, sqlite_url, tmp_path, limits={"send_per_chat_per_second": 30.0})
    async with running_bot(settings, sandbox) as bot:
        for when in ("in 99999999d", "in 99999999999999999999h", "9999-12-31 10:00"):
            sandbox.send_private(maya, f"/remind {when} post")
        await bot.settle()
        assert all(t.startswith("I couldn't read that reminder") for t in bot.replies_to(CREATOR_ID))
        assert len(bot.replies_to(CREATOR_ID)) == 3
        for i in range(26):
            sandbox.send_private(maya, f"/remind in {i + 1}h " + "&<" * 99 + "x")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.REMIND_TOO_MANY.format(n=25)
        sandbox.send_private(maya, "/reminders")
        await bot.settle()
        listing = sandbox.sent[CREATOR_ID][-1]
        assert listing["text"].startswith("Your reminders")
        assert _utf16(listing["text"]) <= 4096
        assert sum(len(row) for row in listing["reply_markup"]["inline_keyboard"]) <= 100
        with bot.sessions() as s:
            assert len(s.scalars(select(Reminder).where(Reminder.kind == "manual")).all()) == 25


async def test_follower_text_never_reaches_the_log_at_the_default_level(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    marker = "secret-diagnosis-4471"
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")
    caplog.set_level(logging.INFO)
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, f"my {marker}")
        sandbox.push_update({"message": {"text": f"broken {marker}", "date": "not a date"}})
        sandbox.push_update({"message": {"message_id": 1, "date": 1, "text": f"orphan {marker}",
                                         "chat": {"id": 101, "type": "private"}, "from": "nobody"}})
        await bot.settle()
        await wait_for(lambda: bool(bot.replies_to(101)), 10, "an answer")
    assert marker not in caplog.text


def test_the_fleet_wide_send_pace_is_pruned_by_the_retention_job(sqlite_url: str) -> None:
    """One pace row per chat ever written to would grow forever: idle chats are forgotten."""
    from bot.store.db import migrated_sessions
    from bot.store.models import SendPace
    from bot.store.outbox_queue import EVERY_CHAT, pace_chat, prune_paces

    sessions = migrated_sessions(sqlite_url)
    now = time.time()
    with sessions() as s, s.begin():
        pace_chat(s, EVERY_CHAT, now - 3600)
        for i in range(3000):
            pace_chat(s, 1000 + i, now - 2990 + i)  # one chat a second, the last ones still paced
    with sessions() as s, s.begin():
        removed = prune_paces(s, now - 60)
    with sessions() as s:
        left = set(s.scalars(select(SendPace.chat_id)))
    assert removed == 3000 - len(left - {EVERY_CHAT})
    assert EVERY_CHAT in left  # the fleet-wide slot is never pruned
    assert len(left) < 100 and 1000 + 2999 in left  # recent chats keep their pace


def test_the_work_queue_hands_a_worker_a_bounded_batch(sqlite_url: str) -> None:
    """A flood is stored, never held in memory: a worker claims a bounded batch at a time."""
    from datetime import timedelta

    from bot.store.db import migrated_sessions
    from bot.store.updates import claim_updates, store_raw_updates

    sessions = migrated_sessions(sqlite_url)
    with sessions() as s, s.begin():
        for start in range(0, 20_000, 1000):
            store_raw_updates(s, [{"update_id": i, "message": {"message_id": i, "date": 0, "text": "hi",
                                                                "chat": {"id": 100 + i % 500, "type": "private"}}}
                                  for i in range(start, start + 1000)])
    with sessions() as s, s.begin():
        batch = claim_updates(s, "w1", timedelta(seconds=60), chats=20, per_chat=10)
    assert 0 < len(batch) <= 20 + 20 * 10  # the chats' oldest updates and what follows each
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(RawUpdate)) == 20_000


async def test_a_burst_of_questions_reaches_the_creator_as_a_digest(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    followers = [sandbox.user(3000 + i, f"Fan{i}") for i in range(40)]
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        for i, fan in enumerate(followers):
            sandbox.send_private(fan, f"Question number {i} about lenses?")
        await bot.settle(60)
        await wait_for(lambda: _open_without_message(bot) == 0, 60, "the digests")
        await bot.settle(60)
        to_creator = bot.replies_to(CREATOR_ID)
        assert len(to_creator) < 15  # not 40 separate notes
        digests = [m for m in sandbox.sent[CREATOR_ID] if "more questions" in (m.get("text") or "")]
        assert digests
        listed = sum(m["text"].count("\n#") for m in digests) + sum(1 for t in to_creator if t.startswith("❓"))
        assert listed == 40  # every question reached the creator once
        digest = digests[0]
        first_id = int(digest["text"].split("\n#", 1)[1].split(" ", 1)[0])
        with bot.sessions() as s:
            asker = s.get(Handoff, first_id)
            assert asker is not None
            asker_chat = asker.chat_id
        sandbox.send_private(maya, f"#{first_id} A 35mm prime", reply_to=digest)
        sandbox.send_private(maya, "no id here", reply_to=digest)
        await bot.settle(60)
        assert bot.replies_to(asker_chat)[-1].endswith("A 35mm prime")
        assert bot.replies_to(CREATOR_ID)[-1] == texts.HANDOFF_DIGEST_PICK
        with bot.sessions() as s:
            assert s.get(Handoff, first_id).status == "answered"


def _open_without_message(bot: Any) -> int:
    with bot.sessions() as s:
        return len(s.scalars(select(Handoff).where(Handoff.status == "open",
                                                   Handoff.creator_outbox_id.is_(None))).all())


async def test_the_creator_and_the_follower_hear_the_truth_about_delivery(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana, ben = sandbox.user(101, "Ana"), sandbox.user(102, "Ben")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.blocked_chats.add(CREATOR_ID)  # the creator never pressed Start
        sandbox.send_private(ana, "Where do you print your photos?")
        await bot.settle()
        assert bot.replies_to(101)[-1] == texts.HANDOFF_UNDELIVERED
        sandbox.send_private(ana, "Which lens?")  # not stuck in "still open" for ever
        await bot.settle()
        assert bot.replies_to(101)[-1] != texts.HANDOFF_STILL_OPEN
        with bot.sessions() as s:
            assert [h.status for h in s.scalars(select(Handoff).order_by(Handoff.id))] == ["closed", "closed"]

        sandbox.blocked_chats.clear()
        long_question = "Which lens? " + "📷" * 2000  # 4012 UTF-16 units (under Telegram's 4096), 2012 code points
        sandbox.send_private(ben, long_question)
        await bot.settle()
        note = sandbox.sent[CREATOR_ID][-1]
        assert note["text"].startswith("❓") and _utf16(note["text"]) <= 4096  # clipped in UTF-16 units
        with bot.sessions() as s:
            assert s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == CREATOR_ID,
                                                         OutboxMessage.status == "dead")).all() != []
            assert [o.status for o in s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 102))] == ["sent"]

        sandbox.blocked_chats.add(102)  # Ben blocked the bot before the answer came
        sandbox.send_private(maya, "A 50mm", reply_to=note)
        await bot.settle()
        told = bot.replies_to(CREATOR_ID)
        assert told[-2].startswith("📨 On its way") and not any(t.startswith("✅ Sent") for t in told)
        assert told[-1].startswith("⚠️ Your answer to question #")


class PickySentiment:
    """A classifier that fails on one kind of text (as a real model can on odd input)."""

    def predict(self, texts: list[str], batch_size: int = 64) -> list[Any]:
        if any("💣" in t for t in texts):
            raise RuntimeError("the model cannot read this")
        from tests.fakes import KeywordSentiment

        return KeywordSentiment().predict(texts)


async def test_one_bad_comment_does_not_block_sentiment(sandbox: BotApiSandbox, sqlite_url: str,
                                                        tmp_path: Path) -> None:
    fans = [sandbox.user(400 + i, f"Fan{i}") for i in range(3)]
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox,
                           classifier_factory=PickySentiment) as bot:
        _, forward = sandbox.channel_post("Sunset #travel")
        for fan, text in zip(fans, ["I love it", "💣 boom", "awful light"], strict=True):
            sandbox.comment(forward, fan, text)
        await bot.settle()

        def labels() -> dict[str, str | None]:
            with bot.sessions() as s:
                return {c.text or "": c.sentiment for c in s.scalars(select(Comment))}

        await wait_for(lambda: None not in labels().values(), 20, "every comment to be classified or skipped")
        assert labels() == {"I love it": "positive", "💣 boom": "unknown", "awful light": "negative"}


async def test_one_failing_reminder_does_not_hold_back_the_others(sandbox: BotApiSandbox, sqlite_url: str,
                                                                  tmp_path: Path) -> None:
    from datetime import timedelta

    from bot.kernel import reminders as reminder_service
    from bot.store.models import utcnow

    sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        services = bot.runtime.services
        now = utcnow()
        async with services.unit() as session:
            ids = [reminder_service.create(session, CREATOR_ID, reminder_service.When(now - timedelta(minutes=1), "once"),
                                           f"post number {i}", kind=kind).id
                   for i, kind in enumerate(["manual", "report", "manual"])]

        def broken_report(session: Any, row: Reminder) -> None:  # the report of this one cannot be built
            raise ValueError("chart failed")

        grace, broken = timedelta(minutes=60), {"report": broken_report}
        sent = await reminder_service.deliver_each(services, utcnow(), grace, broken)
        assert sent == 2
        with bot.sessions() as s:  # the one that failed is tried again later (REMINDERS_POLICY), the others went
            rows = {r.id: r for r in s.scalars(select(Reminder).where(Reminder.id.in_(ids)))}
            assert {i: r.status for i, r in rows.items()} == {ids[0]: "done", ids[1]: "active", ids[2]: "done"}
            failing = rows[ids[1]]
            assert failing.attempts == 1 and failing.retry_at is not None and "chart failed" in (failing.last_error or "")
            first_retry = failing.retry_at
        assert await reminder_service.deliver_each(services, utcnow(), grace, broken) == 0  # not before its time
        for _ in range(2):  # its second and third tries fail too: then it is skipped and the creator told
            assert await reminder_service.deliver_each(services, first_retry + timedelta(minutes=10), grace, broken) == 0
            first_retry += timedelta(minutes=10)
        await bot.settle()
        with bot.sessions() as s:
            row = s.get(Reminder, ids[1])
            assert row is not None and (row.status, row.missed_count) == ("failed", 1)
        told = bot.replies_to(CREATOR_ID)
        assert told.count("⏰ Reminder: post number 0") == 1 and told.count("⏰ Reminder: post number 2") == 1
        assert told.count(texts.REMINDER_FAILED.format(id=ids[1])) == 1


async def test_a_corrupt_live_faq_version_falls_back(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    import asyncio

    from bot.store.db import migrated_sessions
    from bot.store.live_models import FAQ, publish_version
    from tests.faq.test_faq_bot import prepare

    data = tmp_path / "data"
    settings = settings_for(sandbox, sqlite_url, data)
    prepare(settings)  # v0001, good
    sessions = migrated_sessions(sqlite_url)

    def publish(version: str) -> None:  # as another worker would
        with sessions() as session, session.begin():
            publish_version(session, FAQ, version)

    faq_root = data / "faq"
    for broken in ("v0002", "v0003"):
        (faq_root / broken).mkdir()
        (faq_root / broken / "meta.json").write_text("{ not json")
    publish("v0003")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        model = bot.runtime.services.faq_model
        assert model is not None and model.version == "v0001"  # the newest version that loads
        sandbox.send_private(ana, "Which tripod do you use on hikes?")
        await bot.settle()
        assert bot.replies_to(101)[-1].startswith("My tripod is a carbon Peak Design")

        (faq_root / "v0004").mkdir()
        publish("v0004")  # published while running, unreadable
        assert await asyncio.to_thread(model.reload_if_changed) is False
        assert model.version == "v0001" and model.matcher is not None
        publish("../../../etc")  # a pointer out of the model directory
        assert await asyncio.to_thread(model.reload_if_changed) is False
        assert model.version == "v0001"
