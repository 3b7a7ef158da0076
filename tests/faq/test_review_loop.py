"""The loop that makes FAQ coverage grow, through the real bot and the sandbox: the creator's daily
"were these right?" list (✅ / ✏️), 👎 as a negative example, and the automatic retrain that waits
for the end of a burst."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import bot.faq as faq_feature
from bot import texts
from bot.faq import jobs, review
from bot.faq.entries import confirmed_questions
from bot.kernel import buttons
from bot.store.db import make_engine, make_sessionmaker, upgrade
from bot.store.models import (
    DEFAULT_CREATOR_ID,
    FaqAnswer,
    FaqExample,
    Handoff,
    RawUpdate,
    UpdatePerson,
    utcnow,
)
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import Harness, running_bot
from tests.conftest import CREATOR_ID, settings_for, wait_for
from tests.faq.test_faq_bot import prepare

TRIPOD = "Which tripod do you use when hiking?"  # answered with the fake encoder, ~0.02 above the threshold
DRONE = "Which drone do you fly?"  # answered, ~0.059 above it (neither is an example question of the file)
NEAR = {"review_band": 0.105}  # so the tripod answer (0.091 above the threshold) is near it and the drone one (0.122) not


def answers(bot: Harness) -> dict[str, FaqAnswer]:
    with bot.sessions() as s:
        return {a.question: a for a in s.scalars(select(FaqAnswer))}


async def ask(bot: Harness, sandbox: BotApiSandbox, user_id: int, question: str) -> str:
    sandbox.send_private(sandbox.user(user_id, f"Follower {user_id}"), question)
    await bot.settle()
    return bot.replies_to(user_id)[-1]


async def run_job(bot: Harness, name: str) -> None:
    """Run a scheduled job now, as the job queue would (leader check included)."""
    app = bot.runtime.application
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(name)
    await job.run(app)
    await bot.settle()


async def retrain(bot: Harness, sandbox: BotApiSandbox, version: str) -> None:
    sandbox.send_private(sandbox.user(CREATOR_ID, "Maya"), "/retrain")
    await bot.settle()
    await wait_for(lambda: any(t.startswith(f"✅ FAQ model {version} is live") for t in bot.replies_to(CREATOR_ID)),
                   30, f"{version} to go live")
    assert bot.runtime.services.faq_model.version == version


def review_lists(sandbox: BotApiSandbox) -> list[dict[str, Any]]:
    return [m for m in sandbox.sent.get(CREATOR_ID, []) if m.get("text", "").startswith("🔎")]


def button(message: dict[str, Any], label: str) -> str:
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for b in row:
            if b["text"] == label:
                return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} in {message.get('reply_markup')}")


async def test_the_daily_list_is_sent_once_a_day_with_only_near_threshold_answers(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", faq=NEAR)
    prepare(settings)
    sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        await run_job(bot, "faq-review-list")
        assert review_lists(sandbox) == []  # nothing answered yet: no list
        assert (await ask(bot, sandbox, 101, TRIPOD)).startswith("My tripod")
        assert (await ask(bot, sandbox, 102, DRONE)).startswith("The aerial shots")
        given = answers(bot)
        gaps = {q: a.confidence - (a.threshold or 0) for q, a in given.items()}
        assert 0 <= gaps[TRIPOD] <= NEAR["review_band"] < gaps[DRONE], gaps  # the premise of this test

        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        assert TRIPOD in listed["text"] and DRONE not in listed["text"]
        assert [[b["text"] for b in row] for row in listed["reply_markup"]["inline_keyboard"]] == [["1 ✅", "1 ✏️"]]

        later = TRIPOD + " <>"  # the same words (so near the threshold too), and markup to escape
        await ask(bot, sandbox, 103, later)
        await run_job(bot, "faq-review-list")
        assert len(review_lists(sandbox)) == 1  # once a day
        with bot.sessions() as s, s.begin():
            tomorrow = utcnow() + timedelta(days=1)
            assert review.send_review_list(s, settings, tomorrow) == 1  # the next day: only what is new
        await bot.settle()
        second = review_lists(sandbox)[-1]
        assert "hiking? &lt;&gt;" in sandbox.calls_of("sendMessage")[-1].params["text"]  # follower text escaped
        assert later in second["text"] and f"“{TRIPOD}”" not in second["text"]


async def test_a_list_telegram_refuses_leaves_its_answers_for_the_next_one(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)  # the creator never started the bot: Telegram refuses every message to them
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, TRIPOD)
        await run_job(bot, "faq-review-list")
        await wait_for(lambda: answers(bot)[TRIPOD].review is None, 10, "the refused list to be undone")
        assert answers(bot)[TRIPOD].listed_at is None
        sandbox.user(CREATOR_ID, "Maya")
        with bot.sessions() as s, s.begin():
            assert review.send_review_list(s, settings) == 1  # the answer is offered again
        await bot.settle()
        assert TRIPOD in review_lists(sandbox)[0]["text"]


async def test_confirming_adds_the_example_and_a_retrain_learns_it(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, TRIPOD)
        before = answers(bot)[TRIPOD].confidence
        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        confirm = button(listed, "1 ✅")
        sandbox.press(maya, listed, confirm)
        await bot.settle()
        with bot.sessions() as s:
            example = s.scalars(select(FaqExample).where(FaqExample.question == TRIPOD)).one()
            assert (example.entry_id, example.status, example.source) == ("tripod", "accepted", "review")
            assert s.scalars(select(FaqAnswer.review)).all() == ["confirmed"]
            assert confirmed_questions(s) == {TRIPOD}  # taught; a capped share of what calibrates
            # the press quotes the follower's question: /forgetme finds it through them
            assert s.scalars(select(RawUpdate.kind).join(UpdatePerson, UpdatePerson.raw_id == RawUpdate.id)
                             .where(UpdatePerson.user_id == 101)).all() == ["message", "callback_query"]
        assert "reply_markup" not in review_lists(sandbox)[0]  # nothing left to review in it
        sandbox.press(maya, listed, confirm)  # a second tap (a stale keyboard) changes nothing
        await bot.settle()
        assert sandbox.calls_of("answerCallbackQuery")[-1].params["text"] == texts.REVIEW_ALREADY

        await retrain(bot, sandbox, "v0002")
        assert (await ask(bot, sandbox, 102, TRIPOD)).startswith("My tripod")
        after = next(a for a in answers(bot).values() if a.user_id == 102)
        assert after.model_version == "v0002" and after.confidence > before


async def test_marking_wrong_hands_the_same_question_off_after_a_retrain(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, TRIPOD)
        await ask(bot, sandbox, 102, DRONE)
        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        assert listed["text"].index(TRIPOD) < listed["text"].index(DRONE)  # listed in the order asked
        sandbox.press(maya, listed, button(listed, "1 ✏️"))
        await bot.settle()
        prompt = sandbox.sent[CREATOR_ID][-1]
        assert prompt["text"].startswith("✏️ Marked wrong") and TRIPOD in prompt["text"]
        # the list keeps the row still to review
        assert [[b["text"] for b in row] for row in review_lists(sandbox)[0]["reply_markup"]["inline_keyboard"]] == [
            ["2 ✅", "2 ✏️"]]
        with bot.sessions() as s:
            assert s.scalars(select(FaqExample.status).where(FaqExample.question == TRIPOD)).all() == ["negative"]
        sandbox.press(maya, prompt, button(prompt, texts.REVIEW_HAND_OFF_BUTTON))
        await bot.settle()
        assert "reply_markup" not in prompt
        assert sandbox.calls_of("answerCallbackQuery")[-1].params["text"] == texts.REVIEW_HAND_OFF

        await retrain(bot, sandbox, "v0002")
        assert await ask(bot, sandbox, 103, TRIPOD) == texts.HANDOFF_TO_FOLLOWER
        assert (await ask(bot, sandbox, 104, DRONE)).startswith("The aerial shots")  # the other one still answered
        with bot.sessions() as s:
            assert s.scalars(select(Handoff.reason).where(Handoff.user_id == 103)).one() == "marked wrong before"


async def test_the_right_answer_after_marking_wrong_is_learned(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    maya = sandbox.user(CREATOR_ID, "Maya")
    right = "On hikes I carry a tiny Ulanzi travel tripod <1 kg>."
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, TRIPOD)
        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        sandbox.press(maya, listed, button(listed, "1 ✏️"))
        await bot.settle()
        prompt = sandbox.sent[CREATOR_ID][-1]
        sandbox.send_private(maya, right, reply_to=prompt)
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1].startswith("📚 Saved your answer")
        assert bot.replies_to(101)[-1].startswith("My tripod")  # the follower is not messaged
        with bot.sessions() as s:
            (answer,) = s.scalars(select(FaqAnswer)).all()
            assert answer.review == "fixed" and answer.learned_entry_id
            statuses = {(e.entry_id, e.status) for e in s.scalars(select(FaqExample).where(
                FaqExample.question == TRIPOD))}
            assert statuses == {("tripod", "negative"), (answer.learned_entry_id, "accepted")}
        sandbox.send_private(maya, "again", reply_to=prompt)  # settled already: said so, nothing learned twice
        await bot.settle()
        assert bot.replies_to(CREATOR_ID)[-1] == texts.REVIEW_FIX_DONE.format(review="fixed")

        await retrain(bot, sandbox, "v0002")
        reply = await ask(bot, sandbox, 102, TRIPOD)
        assert not reply.startswith("My tripod")  # never the answer marked wrong again
        assert reply in (right, texts.HANDOFF_TO_FOLLOWER)


async def test_thumbs_down_hands_the_same_question_off_after_a_retrain(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    ana = sandbox.user(101, "Ana")
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, DRONE)
        reply = sandbox.sent[101][-1]
        sandbox.press(ana, reply, buttons.make(buttons.FEEDBACK, answers(bot)[DRONE].id, "down"))
        await bot.settle()
        with bot.sessions() as s:
            example = s.scalars(select(FaqExample).where(FaqExample.question == DRONE)).one()
            assert (example.entry_id, example.status, example.source) == ("drone", "negative", "feedback")
        sandbox.send_private(maya, "/close", reply_to=sandbox.sent[CREATOR_ID][-1])
        await bot.settle()

        await retrain(bot, sandbox, "v0002")
        assert await ask(bot, sandbox, 101, DRONE) == texts.HANDOFF_TO_FOLLOWER
        assert (await ask(bot, sandbox, 102, TRIPOD)).startswith("My tripod")
        await run_job(bot, "faq-review-list")
        assert all(DRONE not in m["text"] for m in review_lists(sandbox))  # a 👎 answer is never listed


async def test_a_follower_cannot_undo_an_accepted_example_with_thumbs_down(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data")
    prepare(settings)
    question = "Which tripod do you use?"  # an example question of the FAQ file
    sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        with bot.sessions() as s:
            assert s.scalars(select(FaqExample.status).where(FaqExample.question == question)).all() == ["accepted"]
        await ask(bot, sandbox, 101, question)
        sandbox.press(sandbox.users[101], sandbox.sent[101][-1],
                      buttons.make(buttons.FEEDBACK, answers(bot)[question].id, "down"))
        await bot.settle()
        with bot.sessions() as s:
            assert s.scalars(select(FaqExample.status).where(FaqExample.question == question)).all() == ["accepted"]
        assert sandbox.sent[CREATOR_ID]  # the 👎 still reached the creator


async def test_retraining_starts_by_itself_after_n_new_examples(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faq_feature, "AUTO_RETRAIN_SECONDS", 0.3)
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", faq={"retrain_after_examples": 2})
    prepare(settings)
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        await ask(bot, sandbox, 101, TRIPOD)
        await ask(bot, sandbox, 102, DRONE)
        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        sandbox.press(maya, listed, button(listed, "1 ✅"))
        await bot.settle()
        await asyncio.sleep(1.5)  # several looks of the job: one new example is not enough
        assert bot.runtime.services.faq_model.version == "v0001"
        sandbox.press(maya, listed, button(listed, "2 ✅"))
        await bot.settle()
        await wait_for(lambda: bot.runtime.services.faq_model.version == "v0002", 30, "the automatic retrain")
        await wait_for(lambda: any(t.startswith("✅ FAQ model v0002 is live") for t in bot.replies_to(CREATOR_ID)),
                       10, "the creator to be told")


async def test_no_automatic_retrain_during_a_burst(
        sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data",
                            faq={"retrain_after_examples": 1, "burst_updates_per_minute": 4})
    prepare(settings)
    maya = sandbox.user(CREATOR_ID, "Maya")
    async with running_bot(settings, sandbox) as bot:
        services = bot.runtime.services
        await ask(bot, sandbox, 101, TRIPOD)
        await run_job(bot, "faq-review-list")
        (listed,) = review_lists(sandbox)
        sandbox.press(maya, listed, button(listed, "1 ✅"))
        await bot.settle()
        for i in range(4):  # with the list and the tap: more than 4 updates within a minute
            sandbox.send_private(sandbox.user(200 + i, f"F{i}"), f"hello number {i}")
        await bot.settle()
        assert jobs.auto_retrain(services) == "burst"
        await run_job(bot, "faq-nightly-retrain")  # the nightly one waits too
        assert services.faq_model.version == "v0001" and services.faq_model.retrain_due
        # a minute later it is quiet: the retrain that waited starts
        assert jobs.auto_retrain(services, utcnow() + timedelta(minutes=2)) == "started"
        await wait_for(lambda: services.faq_model.version == "v0002", 30, "the retrain")
        assert not services.faq_model.retrain_due
        assert jobs.auto_retrain(services, utcnow() + timedelta(minutes=2)) == "not due"


def test_burst_is_pending_updates_or_recent_arrivals(sandbox: BotApiSandbox, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data",
                            faq={"burst_pending_updates": 3, "burst_updates_per_minute": 5})
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    now = utcnow()

    def add(n: int, status: str, ago: timedelta) -> None:
        with sessions() as s, s.begin():
            start = len(s.scalars(select(RawUpdate.id)).all())
            for i in range(start, start + n):
                s.add(RawUpdate(update_id=i, dedupe_key=f"k{i}", kind="message", payload={}, status=status,
                                received_at=now - ago))

    def why() -> str | None:
        with sessions() as s:
            return jobs.burst(s, settings, now)

    try:
        add(50, "done", timedelta(minutes=5))  # much, but long ago and handled: quiet
        assert why() is None
        add(3, "pending", timedelta(minutes=5))
        assert why() is None  # 3 waiting is not more than 3
        add(1, "pending", timedelta(minutes=5))
        assert why() == "more than 3 updates waiting"
        with sessions() as s, s.begin():
            for row in s.scalars(select(RawUpdate).where(RawUpdate.status == "pending")):
                row.status = "done"
        add(5, "done", timedelta(seconds=30))
        assert why() is None  # 5 in the last minute is not more than 5
        add(1, "done", timedelta(seconds=10))
        assert why() == "more than 5 updates in the last minute"
    finally:
        engine.dispose()
