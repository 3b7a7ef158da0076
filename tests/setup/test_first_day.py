"""A creator's first day, all in the chat: the setup checklist, the FAQ from a file and `/faq add`,
a retrain, small talk, and every creator command on an empty database."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.cli import main
from bot.config import ChannelConfig, Settings
from bot.setup import checklist as setup_service
from bot.store.models import (
    ChannelPost,
    Comment,
    FaqAnswer,
    Handoff,
    RawUpdate,
    Reminder,
    SettingOverride,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for

FAQ_CSV = b"""question,answer
Which camera do you use?,"I shoot with a Sony A7 IV and a 24-70mm lens."
What camera is that?,"I shoot with a Sony A7 IV and a 24-70mm lens."
What's your camera body?,"I shoot with a Sony A7 IV and a 24-70mm lens."
Which tripod do you use?,"My tripod is a carbon Peak Design Travel Tripod."
What tripod is that?,"My tripod is a carbon Peak Design Travel Tripod."
Can you recommend a light tripod for hiking?,"My tripod is a carbon Peak Design Travel Tripod."
Where do you travel next?,"Next up: the Dolomites in June, then Iceland in the autumn."
What is your next trip?,"Next up: the Dolomites in June, then Iceland in the autumn."
Which country do you visit next?,"Next up: the Dolomites in June, then Iceland in the autumn."
"""
PRESETS = "My Lightroom presets are in the shop: example.com/presets"


def brand_new(sandbox: BotApiSandbox, db_url: str, data_dir: Path) -> Settings:
    """Only the token and the creator's id are configured; the bot is in no channel or group yet."""
    sandbox.bot_status.clear()
    return dataclasses.replace(settings_for(sandbox, db_url, data_dir), channel=ChannelConfig())


def checklist_lines(text: str) -> dict[str, str]:
    """The mark (✅ ❌ ➖) of each checklist item, by its name."""
    out = {}
    for line in text.splitlines():
        if line[:1] in ("✅", "❌", "➖") and line[1:2] == " ":
            name = line[2:].split(":")[0]
            out["Token" if name.startswith("Bot token") else name] = line[0]
    return out


def last_to(sandbox: BotApiSandbox, chat_id: int) -> dict[str, Any]:
    return sandbox.sent[chat_id][-1]


def button(message: dict[str, Any], prefix: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            if b["callback_data"].startswith(prefix):
                return str(b["callback_data"])
    raise AssertionError(f"no {prefix} button under {message.get('text')!r}")


async def say(bot: Harness, user: dict[str, Any], text: str) -> str:
    """Send `text` and return the bot's (last) reply to it."""
    before = len(bot.replies_to(user["id"]))
    bot.sandbox.send_private(user, text)
    await wait_for(lambda: len(bot.replies_to(user["id"])) > before, 20, f"a reply to {text!r}")
    await bot.settle()
    return bot.replies_to(user["id"])[-1]


async def test_a_brand_new_creator_sets_up_everything_in_the_chat(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = brand_new(sandbox, sqlite_url, tmp_path / "data")
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    async with running_bot(settings, sandbox) as bot:
        first = await say(bot, maya, "/start")
        marks = checklist_lines(first)
        assert first.startswith("Setting up your assistant")
        assert marks == {"Token": "✅", "Channel": "❌", "Discussion group": "❌", "Inbox": "➖", "FAQ": "❌",
                         "Reports and time zone": "❌"}

        # the creator adds the bot to the channel and to the discussion group: the bot offers each
        for chat, saved in ((sandbox.channel, "is your channel"), (sandbox.group, "is the discussion group")):
            sandbox.add_bot(chat, by=maya)
            await bot.settle()
            offer = last_to(sandbox, CREATOR_ID)
            assert chat["title"] in offer["text"]
            sandbox.press(maya, offer, button(offer, "setup:"))
            await bot.settle()
            assert any(saved in t for t in bot.replies_to(CREATOR_ID)[-2:])
        marks = checklist_lines(bot.replies_to(CREATOR_ID)[-1])
        assert marks["Channel"] == "✅" and marks["Discussion group"] == "✅" and marks["FAQ"] == "❌"
        with bot.sessions() as s:
            stored = {r.key: r.value for r in s.scalars(select(SettingOverride))}
        assert stored == {"channel.id": sandbox.channel["id"], "channel.discussion_group_id": sandbox.group["id"]}
        sandbox.channel_post("First light over the lake #landscape")  # the channel is now listened to
        await bot.settle()
        with bot.sessions() as s:
            assert s.scalar(select(func.count()).select_from(ChannelPost)) == 1

        # a follower's question before there is any FAQ: handed off, and listed as unanswered
        assert (await say(bot, ana, "Do you run photo workshops?")) == texts.HANDOFF_TO_FOLLOWER
        unanswered = await say(bot, maya, "/faq unanswered")
        assert "Do you run photo workshops?" in unanswered and "(open)" in unanswered

        # the FAQ: a CSV sent as a file, then one entry by /faq add
        sandbox.send_document(maya, "faq.csv", FAQ_CSV)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✅ Imported 3 answers with 9 questions")
        assert (await say(bot, maya, "/faq add")) == texts.FAQ_ADD_QUESTION
        reply = await say(bot, maya, "Where can I buy your presets?\nDo you sell Lightroom presets?\n"
                                     "How do I get your editing presets?")
        assert reply == texts.FAQ_ADD_ANSWER.format(n=3)
        added = await say(bot, maya, PRESETS)
        assert added.startswith("✅ Saved as entry") and "You have 4 entries" in added

        sandbox.send_document(maya, "notes.txt", b"just notes")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("I can import FAQ files ending in .csv")
        sandbox.send_document(maya, "broken.csv", b"question,answer\nWhat lens?,\n")
        await bot.settle()
        assert "I didn't import broken.csv: 1 problem(s)" in bot.replies_to(CREATOR_ID)[-1]
        drone = "- questions:\n    - What drone do you fly?\n    - Which drone is that?\n  answer: A DJI Mini 4 Pro.\n"
        sandbox.send_document(maya, "drone.yaml", drone.encode(), mime_type="application/x-yaml")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("✅ Imported 1 answers with 2 questions")

        # list, remove one entry by its button, and retrain from the chat by the button under that reply
        listing = await say(bot, maya, "/faq list")
        assert listing.startswith("FAQ entries (5;") and "Where can I buy your presets?" in listing
        travel = next(line for line in listing.splitlines() if "Where do you travel next?" in line)
        travel_id = travel.split()[1]
        sandbox.press(maya, last_to(sandbox, CREATOR_ID), f"faq:rm:{travel_id}")
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith(f"Removed entry {travel_id}; 4 entries left")
        sandbox.press(maya, last_to(sandbox, CREATOR_ID), "faq:retrain")
        await wait_for(lambda: any(t.startswith("✅ FAQ model v0001 is live: 4 answers")
                                   for t in bot.replies_to(CREATOR_ID)), 60, "the retrain to finish")
        await wait_for(lambda: bot.runtime.services.faq_model.version == "v0001", 10, "the new model")

        # a follower's question is answered now
        assert (await say(bot, maya, "/close")) == texts.CLOSE_USAGE  # (the workshop question stays open)
        sandbox.send_private(maya, "/close", reply_to=next(m for m in sandbox.sent[CREATOR_ID]
                                                            if "photo workshops" in (m.get("text") or "")))
        await bot.settle()
        assert (await say(bot, ana, "Where can I buy your presets?")) == PRESETS
        assert (await say(bot, ana, "Which tripod do you use?")).startswith("My tripod is a carbon")
        assert (await say(bot, ana, "What drone do you fly?")).startswith("A DJI Mini 4 Pro")

        assert (await say(bot, maya, "/timezone Europe/Berlin")).startswith("✅ Time zone set to Europe/Berlin")
        marks = checklist_lines(await say(bot, maya, "/setup"))
        assert marks == {"Token": "✅", "Channel": "✅", "Discussion group": "✅", "Inbox": "➖", "FAQ": "✅",
                         "Reports and time zone": "✅"}
        assert bot.replies_to(CREATOR_ID)[-1].endswith(texts.SETUP_ALL_DONE.strip())

    # the settings changed in the chat survive a restart and win over the file
    async with running_bot(settings, sandbox) as bot:
        live = bot.runtime.services.settings
        assert live.channel.id == sandbox.channel["id"] and live.schedule.timezone == "Europe/Berlin"

    config = tmp_path / "bot.toml"  # check-config shows the file and what the chat changed
    config.write_text(f'[database]\nurl = "{sqlite_url}"\n[schedule]\ntimezone = "Asia/Tokyo"\n')
    assert main(["check-config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "configuration is valid" in err
    assert "schedule.timezone = 'Europe/Berlin' (changed in the chat; the file says 'Asia/Tokyo')" in err
    assert f"channel.id = {sandbox.channel['id']}" in err


CREATOR_COMMANDS = [
    "/start", "/setup", "/help", "/stats", "/suggest", "/besttime", "/remind", "/remind tomorrow",
    "/reminders", "/abtest", "/abtest #hiking #gear", "/abtest 9 18", "/sentiment", "/report", "/report month",
    "/report schedule", "/export", "/retrain", "/close", "/faq", "/faq list", "/faq unanswered", "/faq remove x",
    "/cancel", "/timezone", "/dashboard", "/inbox", "/inbox mode", "/unknowncmd", "/asks", "/plan", "/plan rules",
    "/plan rules never on Fundays", "/respond", "/health",
]


async def test_every_creator_command_on_an_empty_database(sandbox: BotApiSandbox, db_url: str,
                                                          tmp_path: Path) -> None:
    from bot.app import compose

    WIRED = compose().creator_commands
    assert WIRED and set(WIRED) <= {c.split()[0][1:] for c in CREATOR_COMMANDS}, "a creator command is missing here"
    settings = brand_new(sandbox, db_url, tmp_path / "data")
    maya = sandbox.user(CREATOR_ID, "Maya")
    by_command: dict[str, str] = {}
    async with running_bot(settings, sandbox) as bot:
        for command in CREATOR_COMMANDS:
            before = len(sandbox.sent.get(CREATOR_ID, []))
            sandbox.send_private(maya, command)
            await bot.settle()
            replies = sandbox.sent.get(CREATOR_ID, [])[before:]
            assert replies, f"no reply to {command}"
            for r in replies:
                text = r.get("text") or r.get("caption") or ""
                assert text.strip() or "document" in r, f"an empty reply to {command}"
                assert not text.startswith("⚠️ Something went wrong"), f"{command}: {text}"
            by_command[command] = replies[0].get("text") or replies[0].get("caption") or ""
        with bot.sessions() as s:
            failed = s.scalars(select(RawUpdate.error).where(RawUpdate.status != "done")).all()
            assert failed == []
            assert s.scalar(select(func.count()).select_from(Handoff)) == 0
        assert by_command["/suggest"] == texts.SUGGEST_MISSING["posts"]
        assert by_command["/unknowncmd"] == texts.UNKNOWN_COMMAND
        assert by_command["/retrain"] == texts.RETRAIN_NO_ENTRIES
        assert by_command["/reminders"] == texts.REMINDERS_NONE  # the report schedule is no reminder
        assert "Scheduled report" in by_command["/report schedule"]
        assert "no audience activity yet" in by_command["/besttime"]
        evening = [line for line in by_command["/besttime"].splitlines() if line.startswith("•")]
        assert len(evening) == 3 and all(int(line.split(":")[0][-2:]) in range(18, 23) for line in evening)
        assert "/setup" in by_command["/help"] and "/faq" in by_command["/help"]

        # thin data: posts without hashtags, then one post per tag. First the creator picks the channel
        # and its group (what the setup buttons do): posts from a chat nobody configured are not stored.
        services = bot.runtime.services
        async with services.unit() as session:
            setup_service.change_settings(services, session, {
                "channel.id": sandbox.channel["id"], "channel.discussion_group_id": sandbox.group["id"]})
        sandbox.channel_post("Sunrise at the lake")
        await bot.settle()
        assert (await say(bot, maya, "/suggest")) == texts.SUGGEST_MISSING["tags"].format(posts=1)
        fan = sandbox.user(300, "Fan")
        for tag in ("hiking", "gear"):
            _, forward = sandbox.channel_post(f"New post #{tag}")
            sandbox.comment(forward, fan, "nice")
        await bot.settle()
        thin = await say(bot, maya, "/suggest")
        assert "Experiment" in thin and "experiments, not winners yet" in thin
        assert "from 2 interactions; little data yet" in await say(bot, maya, "/besttime")


SMALL_TALK = [
    ("hello?", "greeting"), ("Hi Maya", "greeting"), ("thanks!", "thanks"), ("Thank you so much 🙏", "thanks"),
    ("bye", "goodbye"), ("Are you a bot?", "bot"), ("👍🔥", "emoji"), ("ok", "ack"),
    ("你好", "greeting_zh"), ("谢谢！", "thanks_zh"), ("再见", "goodbye_zh"), ("你是机器人吗？", "bot_zh"),
]


async def test_small_talk_is_answered_never_handed_off_nor_counted(sandbox: BotApiSandbox, sqlite_url: str,
                                                                    tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", smalltalk={"thanks": "Anytime! — Maya"},
                            limits={"follower_messages_per_minute": 60})
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")  # has started the bot: a handoff note reaches her
    async with running_bot(settings, sandbox) as bot:  # no FAQ: any question would be handed off
        for text, key in SMALL_TALK:
            expected = getattr(settings.smalltalk, key)
            assert (await say(bot, ana, text)) == expected, text
        assert settings.smalltalk.thanks == "Anytime! — Maya"
        assert (await say(bot, ana, "/unknowncmd")) == texts.UNKNOWN_COMMAND
        assert CREATOR_ID not in sandbox.sent  # nothing reached the creator
        with bot.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Handoff)) == 0
            assert s.scalar(select(func.count()).select_from(FaqAnswer)) == 0
        # a real question is still passed on (and counted)
        assert (await say(bot, ana, "Hi, which tripod do you use?")) == texts.HANDOFF_TO_FOLLOWER
        with bot.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Handoff)) == 1


async def test_report_schedule_is_a_setting_not_a_reminder(sandbox: BotApiSandbox, db_url: str,
                                                           tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, db_url, tmp_path / "data"), sandbox) as bot:
        await wait_for(lambda: _report_rows(bot) != [], 10, "the report schedule")
        assert (await say(bot, maya, "/reminders")) == texts.REMINDERS_NONE
        reply = await say(bot, maya, "/report schedule daily 18:30")
        assert reply.startswith("✅ Scheduled report: daily at 18:30")
        assert _report_rows(bot) == [("daily", 18, 30)]
        bad = await say(bot, maya, "/report schedule weekly someday 9:00")
        assert texts.SCHEDULE_BAD_DAY in bad
        assert (await say(bot, maya, "/report schedule off")).startswith("✅ Scheduled report: off")
        assert _report_rows(bot) == []
        assert checklist_lines(await say(bot, maya, "/setup"))["Reports and time zone"] == "❌"  # UTC by default
        assert (await say(bot, maya, "/timezone Mars/Olympus")).startswith("I don't know the time zone")
        assert (await say(bot, maya, "/timezone UTC")).startswith("✅ Time zone set to UTC")
        marks = checklist_lines(await say(bot, maya, "/setup"))
        assert marks["Reports and time zone"] == "✅" and "report off" in bot.replies_to(CREATOR_ID)[-1]


def _report_rows(bot: Harness) -> list[tuple[str, int, int]]:
    with bot.sessions() as s:
        return [(r.recurrence, r.due_at.hour, r.due_at.minute) for r in s.scalars(
            select(Reminder).where(Reminder.kind == "report", Reminder.status == "active"))]


async def test_remind_says_which_part_it_could_not_read(sandbox: BotApiSandbox, sqlite_url: str,
                                                        tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings_for(sandbox, sqlite_url, tmp_path / "data"), sandbox) as bot:
        cases = {
            "/remind in 2h": "no text after the time",
            "/remind tomorrow": "no time after “tomorrow”",
            "/remind yesterday 9:00 post": "that time is in the past",
            "/remind 2020-01-01 9:00 post": "that time is in the past",
            "/remind weekly funday 9:00 x": "“funday” is not a weekday",
        }
        for command, problem in cases.items():
            reply = await say(bot, maya, command)
            assert problem in reply, (command, reply)
            raw = sandbox.sent[CREATOR_ID][-1]["raw_text"]
            assert "`" not in raw and raw.count("<code>/remind ") == 1, raw


def test_chat_settings_are_checked_like_the_file() -> None:
    from bot.config import ConfigError, Settings, with_overrides

    base = Settings()
    changed = with_overrides(base, {"schedule.timezone": "Asia/Shanghai", "channel.id": -100123})
    assert changed.schedule.timezone == "Asia/Shanghai" and changed.channel.id == -100123
    assert base.schedule.timezone == "UTC"
    with pytest.raises(ConfigError) as info:
        with_overrides(base, {"schedule.timezone": "Mars/Olympus", "channel.id": "x", "nope.key": 1})
    assert len(info.value.problems) == 3


async def test_a_group_the_bot_is_added_to_becomes_the_inbox(sandbox: BotApiSandbox, sqlite_url: str,
                                                              tmp_path: Path) -> None:
    maya = sandbox.user(CREATOR_ID, "Maya")
    ana = sandbox.user(101, "Ana")
    inbox = {"id": -1001000000099, "type": "supergroup", "title": "Maya's inbox"}
    sandbox.chats[inbox["id"]] = inbox
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")  # no discussion group yet: any group
    settings = dataclasses.replace(settings, channel=ChannelConfig(id=sandbox.channel["id"]))
    async with running_bot(settings, sandbox) as bot:
        sandbox.add_bot(inbox, by=maya, status="member")
        await bot.settle()
        offer = last_to(sandbox, CREATOR_ID)
        assert "Maya's inbox" in offer["text"] and "Make me an administrator there" in offer["text"]
        sandbox.press(maya, offer, button(offer, "setup:inbox:"))
        await bot.settle()
        assert bot.runtime.services.settings.creator.inbox_chat_id == inbox["id"]
        assert checklist_lines(bot.replies_to(CREATOR_ID)[-1])["Inbox"] == "✅"
        assert (await say(bot, ana, "Do you run photo workshops?")) == texts.HANDOFF_TO_FOLLOWER
        note = sandbox.sent[inbox["id"]][-1]
        assert "Do you run photo workshops?" in note["text"]
        sandbox.push_update({"message": sandbox._new_message(inbox, **{"from": maya}, text="Yes, in May!",
                                                             reply_to_message=note)})
        await wait_for(lambda: "Yes, in May!" in bot.replies_to(101)[-1], 20, "the answer from the inbox")
        with bot.sessions() as s:  # the creator's reply in the inbox is no comment
            assert s.scalar(select(func.count()).select_from(Comment)) == 0
        sandbox.add_bot(sandbox.channel, by=maya, status="left")  # removed from the channel
        await bot.settle()
        assert bot.replies_to(inbox["id"])[-1].startswith("⚠️ I was removed from Creator Channel,")


def test_best_time_with_a_burst_at_midnight_leans_on_the_typical_evening() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    import numpy as np

    from recsys.timing import PostingTimeModel

    midnight = datetime(2026, 11, 30, 0, 0, 10, tzinfo=UTC).timestamp()  # a Monday
    burst = np.array([midnight, midnight + 5, midnight + 20, midnight + 40])
    for zone in ("UTC", "Europe/Berlin"):
        model = PostingTimeModel(tz=ZoneInfo(zone)).fit(burst, np.array([3.0, 3.0, 2.0, 2.0]))
        assert model.interactions == 4
        slots = model.best_slots(datetime(2026, 11, 29, 1, tzinfo=UTC), k=3)
        assert all(start.hour in (19, 20) for start, _ in slots), (zone, slots)
    busy = PostingTimeModel(tz=ZoneInfo("UTC")).fit(  # months of midnight activity do win
        np.array([midnight + d * 86_400.0 + m * 60 for d in range(90) for m in range(8)]))
    assert busy.best_hours(1)[0][0] % 24 == 0
