"""Questions that reach the bot together are matched in one model call, each gets its own answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import select

from bot.config import Settings
from bot.faq.training import import_and_train
from bot.store.models import RawUpdate
from botapi_sandbox.server import BotApiSandbox
from nlp.faq_data import load_faq
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.fakes import HashingEncoder

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"


E = TypeVar("E", bound=HashingEncoder)


def trained(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path,
            kind: type[E]) -> tuple[Settings, dict[str, E], Callable[[str], E]]:
    """The sample FAQ trained with the hashing fake; the bot's encoders will be `kind`, one per model name."""
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    import_and_train(settings, load_faq(SAMPLE), lambda name: HashingEncoder(), 0.95)
    encoders: dict[str, E] = {}

    def factory(name: str) -> E:
        return encoders.setdefault(name, kind(multilingual=name == "multilingual-e5-small"))

    return settings, encoders, factory


class RecordingEncoder(HashingEncoder):
    """The hashing fake, remembering how many texts each call embedded."""

    def __init__(self, multilingual: bool = False) -> None:
        super().__init__(multilingual=multilingual)
        self.batches: list[int] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.batches.append(len(texts))
        return super().encode(texts, batch_size)


async def test_a_burst_of_questions_costs_batches_and_everyone_gets_the_right_answer(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings, encoders, factory = trained(sandbox, sqlite_url, tmp_path, RecordingEncoder)

    questions = {"Which tripod do you use on hikes?": "My tripod is a carbon Peak Design",
                 "Where can I buy your Lightroom presets?": "My Lightroom presets are in the shop"}
    followers = [sandbox.user(500 + i, f"F{i}") for i in range(24)]
    for i, user in enumerate(followers):  # all waiting before the bot polls: they arrive together
        sandbox.send_private(user, list(questions)[i % 2])
    async with running_bot(settings, sandbox, encoder_factory=factory) as bot:
        await bot.settle()
    for i, user in enumerate(followers):
        (reply,) = bot.replies_to(user["id"])
        assert reply.startswith(list(questions.values())[i % 2]), reply
    english = encoders["hashing-fake"]  # the name the FAQ was trained with
    assert sum(english.batches) == len(followers)  # each question embedded once
    assert max(english.batches) >= 12, english.batches  # not one call per question


class GatedEncoder(HashingEncoder):
    """The hashing fake; once `ARMED` is set, each call waits at a gate the test opens (an encoder made after
    the arming, as when a FAQ head loads at its first question, is armed too)."""

    ARMED = threading.Event()

    def __init__(self, multilingual: bool = False) -> None:
        super().__init__(multilingual=multilingual)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if self.ARMED.is_set():
            self.entered.set()
            self.gate.wait(10)
        return super().encode(texts, batch_size)


async def test_no_transaction_stays_open_while_a_question_is_matched(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings, encoders, factory = trained(sandbox, sqlite_url, tmp_path, GatedEncoder)

    ana = sandbox.user(101, "Ana")
    GatedEncoder.ARMED.clear()
    async with running_bot(settings, sandbox, encoder_factory=factory) as bot:
        GatedEncoder.ARMED.set()
        sandbox.send_private(ana, "Which tripod do you use on hikes?")
        await wait_for(lambda: any(e.entered.is_set() for e in encoders.values()), 10, "the model call")
        lock = bot.runtime.services.db_lock
        try:  # the handler's transaction (which holds the lock from start to commit) has not begun
            await wait_for(lambda: not lock.locked(), 2, "the write lock to be free during the model call")
        finally:
            GatedEncoder.ARMED.clear()
            for encoder in encoders.values():
                encoder.gate.set()
        await bot.settle()
        assert bot.replies_to(101)[-1].startswith("My tripod is a carbon Peak Design")


class PoisonEncoder(RecordingEncoder):
    """The recording fake; a text with the word `poison` in it breaks whichever call it is part of."""

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if any("poison" in t for t in texts):
            self.batches.append(-len(texts))
            raise RuntimeError("the model cannot take this text")
        return super().encode(texts, batch_size)


async def test_a_batch_with_one_poison_question_answers_every_other_question(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings, encoders, factory = trained(sandbox, sqlite_url, tmp_path, PoisonEncoder)

    followers = [sandbox.user(600 + i, f"F{i}") for i in range(12)]
    for i, user in enumerate(followers):  # all waiting before the bot polls: one claim, one model batch
        sandbox.send_private(user, "Which tripod do you use, poison edition?" if i == 5 else
                             "Which tripod do you use on hikes?")
    sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox, encoder_factory=factory) as bot:
        await bot.settle(40)
        with bot.sessions() as s:
            statuses = {r.chat_key: r.status for r in s.scalars(select(RawUpdate))}
    english = encoders["hashing-fake"]
    assert english.batches[0] < -1, english.batches  # the whole batch, poison included, was tried once
    for i, user in enumerate(followers):
        if i == 5:
            assert statuses[user["id"]] == "dead"  # retried on its own, then set aside with a notice
            continue
        (reply,) = bot.replies_to(user["id"])
        assert reply.startswith("My tripod is a carbon Peak Design"), reply
        assert statuses[user["id"]] == "done"
    assert any("cannot take this text" in n for n in bot.replies_to(CREATOR_ID))
