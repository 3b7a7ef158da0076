"""Many creators in one process: two bots (two tokens on one sandbox), each with its own FAQ, creator,
handoffs and data, served by one `Deployment` (what `creatorbot run` starts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import texts
from bot.app import create_deployment
from bot.config import Settings, parse_settings
from bot.faq.training import import_and_train
from bot.runtime.deployment import Deployment
from bot.store import creators
from bot.store.db import make_engine, make_sessionmaker
from bot.store.models import DirectMessage, Follower, Handoff
from bot.store.scope import fleet_sessions
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import FaqEntry, load_faq
from tests.conftest import wait_for
from tests.fakes import KeywordSentiment, fake_encoders

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"
MAYA, LUCA = 9001, 9002  # the two creators' Telegram accounts
LUCA_TOKEN = "222222:LUCA"
TRIPOD = "Which tripod do you use?"
OVEN = "What temperature do you bake bread at?"
UNRELATED = "Do you have a discount code for the Berlin marathon?"
COOK_FAQ = [
    FaqEntry("oven", "I bake my bread at 230 °C with steam for the first 15 minutes.",
             [OVEN, "How hot is your oven for bread?", "At what heat do you bake loaves?",
              "Bread oven temperature please?"], ["baking"]),
    FaqEntry("flour", "Mostly Italian type 1 flour, sometimes with 20 % whole wheat.",
             ["Which flour do you use?", "What kind of flour is best?", "Where do you buy your flour?",
              "Flour brand recommendation?"], ["baking"]),
    FaqEntry("knife", "A 21 cm Japanese gyuto; I sharpen it on a 1000/6000 whetstone every two weeks.",
             ["Which knife do you use?", "What chef knife is that?", "How do you sharpen knives?",
              "Recommend a kitchen knife?"], ["gear"]),
    FaqEntry("pasta", "Fresh pasta: 100 g of 00 flour and one egg per person, rested 30 minutes.",
             ["How do you make fresh pasta?", "Pasta dough recipe?", "How many eggs for pasta?",
              "What flour for pasta dough?"], ["recipes"]),
    FaqEntry("classes", "I teach a cooking class in Rome on the first Saturday of every month.",
             ["Do you teach cooking classes?", "Can I join a class?", "Where are your workshops?",
              "When is the next cooking class?"], ["events"]),
]


@dataclass
class Two:
    deployment: Deployment
    maya_bot: BotApiSandbox
    luca_bot: BotApiSandbox
    settings: Settings

    def sessions(self, name: str) -> Any:
        engine = self.deployment.shared.engine
        with fleet_sessions(engine)() as s:
            return make_sessionmaker(engine, creators.by_name(s, name).id)

    def idle(self) -> bool:
        from bot.kernel.stats import work_pending

        for name in ("maya", "luca"):
            with self.sessions(name)() as s:
                if work_pending(s):
                    return False
        return self.maya_bot.pending_count == 0 and self.luca_bot.pending_count == 0

    async def settle(self, timeout: float = 20.0) -> None:
        await wait_for(self.idle, timeout, "both bots to handle every update and send every reply")


def two_creator_settings(maya_bot: BotApiSandbox, luca_bot: BotApiSandbox, db_url: str, data: Path,
                         **extra: Any) -> Settings:
    raw: dict[str, Any] = {
        "telegram": {"base_url": maya_bot.root_url, "poll_timeout": 1},
        "database": {"url": db_url},
        "paths": {"data_dir": str(data)},
        "creators": [
            {"name": "maya", "token_env": "MAYA_TOKEN", "user_ids": [MAYA],
             "channel": {"id": maya_bot.channel["id"], "discussion_group_id": maya_bot.group["id"]}},
            {"name": "luca", "token_env": "LUCA_TOKEN", "user_ids": [LUCA],
             "channel": {"id": luca_bot.channel["id"], "discussion_group_id": luca_bot.group["id"]},
             "schedule": {"timezone": "Europe/Rome"}},
        ],
    }
    for section, values in extra.items():
        raw.setdefault(section, {}).update(values)
    return parse_settings(raw, "<test>", env={"MAYA_TOKEN": maya_bot.token, "LUCA_TOKEN": luca_bot.token})


@asynccontextmanager
async def two_creators(sandbox: BotApiSandbox, db_url: str, tmp_path: Path, *, train: bool = True,
                       unset: tuple[str, ...] = (), **extra: Any) -> AsyncIterator[Two]:
    """`unset`: token variables (MAYA_TOKEN, LUCA_TOKEN) left out of the environment."""
    luca_bot = sandbox.add_bot(LUCA_TOKEN, bot_id=222222, channel_id=-1002000000001, group_id=-1002000000002)
    settings = two_creator_settings(sandbox, luca_bot, db_url, tmp_path / "data", **extra)
    if unset:
        settings = replace(settings, creators=tuple(replace(spec, token="") if spec.token_env in unset else spec
                                                    for spec in settings.creators))
    if train:
        import_and_train(settings.for_creator(settings.creator_spec("maya")), load_faq(SAMPLE), fake_encoders, 0.95)
        import_and_train(settings.for_creator(settings.creator_spec("luca")), COOK_FAQ, fake_encoders, 0.8)
    deployment = create_deployment(settings, encoder_factory=fake_encoders, classifier_factory=KeywordSentiment,
                                   env={k: v for k, v in {"MAYA_TOKEN": sandbox.token, "LUCA_TOKEN": LUCA_TOKEN}.items()
                                        if k not in unset}, watch_seconds=0.5)
    await deployment.start()
    try:
        yield Two(deployment, sandbox, luca_bot, settings)
    finally:
        await deployment.stop()


def tokens_by_chat(sandbox: BotApiSandbox, method: str = "sendMessage") -> dict[int, set[str]]:
    """Which tokens sent to each chat."""
    seen: dict[int, set[str]] = {}
    for token, call in sandbox.hub_calls:
        if call.method == method and "chat_id" in call.params:
            seen.setdefault(int(call.params["chat_id"]), set()).add(token)
    return seen


async def test_each_bot_answers_from_its_own_faq_and_hands_off_to_its_own_creator(
        sandbox: BotApiSandbox, db_url: str, tmp_path: Path) -> None:
    async with two_creators(sandbox, db_url, tmp_path) as two:
        maya_bot, luca_bot = two.maya_bot, two.luca_bot
        ana_at_maya, ana_at_luca = maya_bot.user(101, "Ana"), luca_bot.user(101, "Ana")
        luca = luca_bot.user(LUCA, "Luca")
        maya_bot.send_private(ana_at_maya, TRIPOD)
        luca_bot.send_private(ana_at_luca, OVEN)
        luca_bot.send_private(luca_bot.user(103, "Cleo"), TRIPOD)  # maya's question, asked of the cook
        luca_bot.send_private(luca_bot.user(102, "Ben"), UNRELATED)
        await two.settle()
        assert maya_bot.texts_to(101)[0].startswith("My tripod is a carbon Peak Design")
        assert luca_bot.texts_to(101)[0].startswith("I bake my bread at 230")
        assert not any("Peak Design" in t for t in luca_bot.texts_to(103))  # never maya's answer
        assert luca_bot.texts_to(102) == [texts.HANDOFF_TO_FOLLOWER]
        notes = [m for m in luca_bot.sent[LUCA] if UNRELATED in m["text"]]
        (note,) = notes
        assert MAYA not in maya_bot.sent  # the handoff reached luca only, through luca's bot
        # luca replies to the note: the answer reaches Ben through luca's bot
        luca_bot.send_private(luca, "I do not photograph, sorry! Ask Maya.", reply_to=note)
        await two.settle()
        assert "I do not photograph" in luca_bot.texts_to(102)[-1]
        assert 102 not in maya_bot.sent
        for chat, tokens in tokens_by_chat(sandbox).items():
            assert len(tokens) == 1 or chat == 101, (chat, tokens)  # Ana follows both: one reply from each
        assert tokens_by_chat(sandbox)[LUCA] == {LUCA_TOKEN} and 102 not in {
            int(c.params.get("chat_id", 0)) for t, c in sandbox.hub_calls if t == sandbox.token}
        with two.sessions("maya")() as s:
            assert [h.question for h in s.scalars(select(Handoff))] == []
            assert {f.user_id for f in s.scalars(select(Follower))} == {101}
        with two.sessions("luca")() as s:
            assert UNRELATED in [h.question for h in s.scalars(select(Handoff))]
            assert {f.user_id for f in s.scalars(select(Follower))} >= {101, 102, 103}


async def test_forgetme_in_one_bot_keeps_what_the_same_person_told_the_other(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    async with two_creators(sandbox, sqlite_url, tmp_path) as two:
        ana_at_maya, ana_at_luca = two.maya_bot.user(101, "Ana"), two.luca_bot.user(101, "Ana")
        two.maya_bot.send_private(ana_at_maya, TRIPOD)
        two.luca_bot.send_private(ana_at_luca, OVEN)
        await two.settle()
        two.luca_bot.send_private(ana_at_luca, "/forgetme")
        await two.settle()
        confirm = two.luca_bot.sent[101][-1]
        buttons = [b for row in confirm.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if buttons:  # a confirmation step: press "yes"
            two.luca_bot.press(ana_at_luca, confirm, buttons[0]["callback_data"])
            await two.settle()
        with two.sessions("luca")() as s:
            assert s.scalars(select(DirectMessage).where(DirectMessage.direction == "in")).all() == []
        with two.sessions("maya")() as s:
            assert [m.text for m in s.scalars(select(DirectMessage).where(DirectMessage.direction == "in"))] == [TRIPOD]
            assert s.get(Follower, 101) is not None


async def test_a_revoked_token_takes_down_its_creator_only(sandbox: BotApiSandbox, sqlite_url: str,
                                                           tmp_path: Path) -> None:
    async with two_creators(sandbox, sqlite_url, tmp_path) as two:
        two.luca_bot.revoke()
        def luca_row() -> creators.CreatorRow:
            with fleet_sessions(two.deployment.shared.engine)() as s:
                return creators.by_name(s, "luca")

        await wait_for(lambda: luca_row().down_reason is not None, 20, "luca to be marked down")
        assert "luca" not in two.deployment.names.values() and "401" in str(luca_row().down_reason)
        ok, health = await two.deployment.report()
        assert ok and health["creators"]["luca"]["status"] == "down" and health["creators"]["maya"]["status"] == "up"
        two.maya_bot.send_private(two.maya_bot.user(101, "Ana"), TRIPOD)
        await wait_for(lambda: bool(two.maya_bot.sent.get(101)), 15, "maya to answer")
        two.luca_bot.revoked = False  # a new token from @BotFather: served again after the back-off
        await wait_for(lambda: "luca" in two.deployment.names.values(), 30, "luca to be served again")
        await wait_for(lambda: luca_row().down_reason is None, 10, "luca's reason to be cleared")


async def test_a_creator_added_while_running_answers_without_a_restart(sandbox: BotApiSandbox, sqlite_url: str,
                                                                      tmp_path: Path) -> None:
    async with two_creators(sandbox, sqlite_url, tmp_path) as two:
        cook2 = sandbox.add_bot("333333:NEW", bot_id=333333, channel_id=-1003000000001, group_id=-1003000000002)
        two.deployment.env["NEW_TOKEN"] = cook2.token
        engine = make_engine(sqlite_url)
        with fleet_sessions(engine)() as s, s.begin():
            creators.add(s, "nora", "NEW_TOKEN", [9003])
        await wait_for(lambda: "nora" in two.deployment.names.values(), 30, "nora to be served")
        cook2.send_private(cook2.user(101, "Ana"), "hello")
        await wait_for(lambda: bool(cook2.sent.get(101)), 15, "nora's bot to answer")
        with fleet_sessions(engine)() as s, s.begin():
            creators.set_status(s, "nora", creators.PAUSED)
        await wait_for(lambda: "nora" not in two.deployment.names.values(), 30, "nora to be stopped")
        engine.dispose()


async def test_healthz_says_starting_until_the_models_are_ready_and_the_bots_started(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    import asyncio
    import threading

    luca_bot = sandbox.add_bot(LUCA_TOKEN, bot_id=222222, channel_id=-1002000000001, group_id=-1002000000002)
    settings = two_creator_settings(sandbox, luca_bot, sqlite_url, tmp_path / "data")
    exporting = threading.Event()  # a first start's export, until the test lets it end

    def export(models: Any) -> None:
        exporting.wait(20)

    deployment = create_deployment(settings, encoder_factory=fake_encoders, classifier_factory=KeywordSentiment,
                                   env={"MAYA_TOKEN": sandbox.token, "LUCA_TOKEN": LUCA_TOKEN},
                                   extend=lambda reg: reg.prepare_models.insert(0, export))
    starting = asyncio.create_task(deployment.start())
    try:
        await asyncio.sleep(0.5)
        ok, body = await deployment.report()
        assert not ok and body["status"] == "starting"
        assert {name: c["status"] for name, c in body["creators"].items()} == {"maya": "starting", "luca": "starting"}
        assert not sandbox.calls_of("getMe") and not luca_bot.calls_of("getMe")  # nobody connected yet
        exporting.set()
        await starting
        ok, body = await deployment.report()
        assert ok and "status" not in body
        assert {name: c["status"] for name, c in body["creators"].items()} == {"maya": "up", "luca": "up"}
    finally:
        exporting.set()
        if not starting.done():
            await starting
        await deployment.stop()


async def test_a_creator_added_with_a_token_file_is_served_once_the_file_holds_a_token(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.runtime import deployment as deployment_module

    monkeypatch.setattr(deployment_module, "RETRY_MAX", 1.0)  # the back-off's next try comes soon
    async with two_creators(sandbox, sqlite_url, tmp_path) as two:
        nora_bot = sandbox.add_bot("333333:NORA", bot_id=333333, channel_id=-1003000000001, group_id=-1003000000002)
        token_file = tmp_path / "nora.token"
        engine = make_engine(sqlite_url)

        def nora() -> creators.CreatorRow:
            with fleet_sessions(engine)() as s:
                return creators.by_name(s, "nora")

        with fleet_sessions(engine)() as s, s.begin():
            creators.add(s, "nora", "", [9003], token_file=str(token_file))
        await wait_for(lambda: nora().down_reason is not None, 20, "nora to be down: no token file yet")
        assert "cannot read the token file" in str(nora().down_reason)
        token_file.write_text(nora_bot.token + "\n")  # the operator writes it; no restart
        await wait_for(lambda: "nora" in two.deployment.names.values(), 30, "nora to be served")
        nora_bot.send_private(nora_bot.user(101, "Ana"), "hello")
        await wait_for(lambda: bool(nora_bot.sent.get(101)), 15, "nora's bot to answer")
        engine.dispose()
