"""The real PTB Application against the sandbox, in process."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from telegram import Update
from telegram.ext import TypeHandler

from bot import texts
from bot.store.models import (
    ChannelPost,
    Comment,
    DirectMessage,
    ErrorNotice,
    FollowerCountSnapshot,
    MembershipEvent,
    PostReactions,
    PostTag,
    RawUpdate,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

SECRET = "webhook-secret_" * 3


async def test_follower_start_is_answered_and_stored(sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana <script>")
    async with running_bot(settings_for(sandbox, db_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, "/start")
        await bot.settle()
        replies = bot.replies_to(101)
        assert len(replies) == 1 and "Hi Ana <script>!" in replies[0]
        # the name went out escaped for HTML (the sandbox rejects bad HTML like Telegram does)
        raw = sandbox.calls_of("sendMessage")[0].params["text"]
        assert "Ana &lt;script&gt;" in raw
        with bot.sessions() as s:
            directions = sorted(d.direction for d in s.scalars(select(DirectMessage)))
        assert directions == ["in", "out"]
    assert "message_reaction_count" in (sandbox.allowed_updates or [])
    assert "chat_member" in (sandbox.allowed_updates or [])


async def test_channel_post_comments_reactions_and_joins_are_recorded(
    sandbox: BotApiSandbox, db_url: str, tmp_path: Path
) -> None:
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings_for(sandbox, db_url, tmp_path), sandbox) as bot:
        sandbox.member(ana, joined=True)
        post, forward = sandbox.channel_post("Morning hike #Travel #photography #travel")
        sandbox.comment(forward, ana, "Where is this?")
        sandbox.reactions(post, {"👍": 3, "🔥": 2})
        sandbox.member(ana, joined=False)
        await bot.settle()
        await wait_for(lambda: _count(bot, FollowerCountSnapshot) >= 1, what="member count snapshot")
        with bot.sessions() as s:
            stored = s.scalars(select(ChannelPost)).one()
            assert stored.message_id == post["message_id"]
            assert stored.discussion_message_id == forward["message_id"]
            assert sorted(s.scalars(select(PostTag.tag))) == ["photography", "travel"]
            comment = s.scalars(select(Comment)).one()
            assert comment.post_id == stored.id and comment.user_id == 101
            reactions = s.get(PostReactions, stored.id)
            assert reactions is not None and reactions.total == 5
            assert [e.event for e in s.scalars(select(MembershipEvent).order_by(MembershipEvent.id))] == [
                "join", "leave"]
        assert bot.replies_to(sandbox.group["id"]) == []  # the bot never talks in the group


def _count(bot: object, model: type) -> int:
    with bot.sessions() as s:  # type: ignore[attr-defined]
        return len(s.scalars(select(model)).all())


async def test_unknown_and_malformed_updates_are_stored_and_skipped(
    sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path
) -> None:
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.deliver_all = True
        odd = sandbox.push_update({"future_update_kind": {"id": "x", "shiny_new_field": [1, 2]}})
        broken = sandbox.push_update({"message": "this is not a message object"})
        dateless = sandbox.push_update({"message": {  # found by the fuzz test: it failed on comments.created_at
            "message_id": 9, "date": None, "chat": sandbox.group, "text": "a comment without a date",
            "from": {"id": 202, "is_bot": False, "first_name": "Fay"}}})
        sandbox.send_private(ana, "/start")  # the bot keeps working after them
        await bot.settle()
        with bot.sessions() as s:
            rows = {r.update_id: r for r in s.scalars(select(RawUpdate))}
        assert rows[odd["update_id"]].status == "done"
        assert rows[odd["update_id"]].payload["future_update_kind"]["shiny_new_field"] == [1, 2]
        assert rows[broken["update_id"]].status == "skipped"
        assert "malformed" in (rows[broken["update_id"]].error or "")
        assert rows[dateless["update_id"]].status == "done" and rows[dateless["update_id"]].error is None
        assert len(bot.replies_to(101)) == 1  # only the /start reply, no error reply
        assert bot.replies_to(CREATOR_ID) == []


async def test_creator_commands_are_gated(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ben = sandbox.user(102, "Ben")
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ben, "/stats")
        sandbox.send_private(maya, "/stats")
        await bot.settle()
        assert bot.replies_to(102) == [texts.CREATOR_ONLY]
        assert "Stored so far" in bot.replies_to(CREATOR_ID)[0]


async def test_odd_follower_input_gets_a_polite_reply(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        sandbox.send_private(ana, sticker={"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                                           "is_animated": False, "is_video": False, "type": "regular"})
        await bot.settle()
        sandbox.send_private(ana, "🙂🙂🙂")
        await bot.settle()
        sandbox.send_private(ana, "x" * 5000)
        await bot.settle()
        # emoji-only is small talk: a short answer in the creator's voice, not a question
        assert bot.replies_to(101) == [texts.NON_TEXT, bot.runtime.settings.smalltalk.emoji, texts.TOO_LONG]
        with bot.sessions() as s:
            kinds = [d.content_type for d in s.scalars(select(DirectMessage).where(DirectMessage.direction == "in"))]
        assert kinds == ["sticker", "text", "text"]


async def test_unexpected_errors_tell_the_creator_once(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")

    async def explode(update: Update, context: object) -> None:
        if update.effective_message and update.effective_message.text == "boom":
            raise RuntimeError("kaboom <b>")

    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path), sandbox) as bot:
        bot.runtime.application.add_handler(TypeHandler(Update, explode), group=-1)
        for _ in range(3):
            sandbox.send_private(ana, "boom")
        await bot.settle(60)  # each failing update is retried before it is set aside
        notices = bot.replies_to(CREATOR_ID)
        assert len(notices) == 1 and "kaboom <b>" in notices[0]
        with bot.sessions() as s:
            statuses = [r.status for r in s.scalars(select(RawUpdate))]
            assert statuses == ["dead"] * 3
            assert s.scalars(select(ErrorNotice)).one().count == 3
        assert bot.replies_to(101) == []  # the failed updates' own writes were rolled back


async def test_webhook_mode_stores_then_answers(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(sandbox, sqlite_url, tmp_path, telegram={
        "mode": "webhook", "webhook_url": f"http://127.0.0.1:{port}/telegram",
        "webhook_port": port, "webhook_secret": SECRET})
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        assert sandbox.webhook == {"url": f"http://127.0.0.1:{port}/telegram", "secret_token": SECRET}
        sandbox.send_private(ana, "/start")
        await bot.settle()
        assert "Hi Ana" in bot.replies_to(101)[0]
        assert not sandbox.calls_of("getUpdates")
        import aiohttp

        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{port}/telegram", json={"update_id": 999, "message": {}},
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as resp:
            assert resp.status == 403
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "ünïcode-" + SECRET}):
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{port}/telegram", json={"update_id": 999, "message": {}},
                    headers=headers) as resp:
                assert resp.status == 403  # not a 500 for a header that is not ASCII
        with bot.sessions() as s:
            assert s.scalars(select(RawUpdate).where(RawUpdate.update_id == 999)).first() is None
