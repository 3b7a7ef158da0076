"""Faults that used to stop every worker or repeat work (issue 20): errors classified by what they mean,
leases that live as long as the work, claims checked on every state change, the rate limit before the
model."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot import texts
from bot.app import compose
from bot.kernel.context import BotContext
from bot.kernel.outbox import send_text
from bot.runtime.processor import MAX_ATTEMPTS
from bot.store.db import make_sessionmaker, upgrade
from bot.store.failures import is_transient
from bot.store.models import DEFAULT_CREATOR_ID, FaqExample, OutboxMessage, RawUpdate
from bot.store.outbox_queue import OUTBOX, claim_outbox, mark_sent
from bot.store.updates import claim_updates
from botapi_sandbox.server import BotApiSandbox
from tests.bot_harness import running_bot
from tests.conftest import CREATOR_ID, _reset_pg, settings_for, wait_for
from tests.fakes import HashingEncoder, KeywordSentiment, slow_feature
from tests.faq.test_faq_bot import prepare

KNOWN = "Which tripod do you use on hikes?"


def random_question(n: int, seed: int = 7) -> str:
    """`n` random letters from scripts of 2 and 3 bytes a character (far past PostgreSQL's 2,704-byte rows)."""
    rng = random.Random(seed)
    alphabet = [chr(c) for c in (*range(0x430, 0x450), *range(0x4E00, 0x4E80))] + [" "]
    return "".join(rng.choice(alphabet) for _ in range(n - 1)) + "?"


def slow_sql_registry(seconds: float) -> Any:
    """Every feature, plus a handler for the private text "slow" that sleeps `seconds` in SQL inside
    the update's transaction, then replies."""
    registry = compose(KeywordSentiment)

    async def slow(update: Update, context: BotContext) -> None:
        message = update.effective_message
        assert message is not None
        context.session.execute(text(f"SELECT pg_sleep({seconds})"))
        send_text(context.session, message.chat_id, "done slowly")

    registry.handlers.insert(0, lambda f: MessageHandler(f.private & filters.Regex("^slow$"), slow))
    return registry


@pytest.mark.postgres
async def test_a_4000_character_question_learned_on_postgres_stops_nothing(
        sandbox: BotApiSandbox, pg_url: str, tmp_path: Path) -> None:
    """Learning a question far longer than a btree row used to raise ProgramLimitExceeded, taken for
    "the database is down": the update stayed first in line for every worker, forever."""
    _reset_pg(pg_url)
    settings = settings_for(sandbox, pg_url, tmp_path / "data")
    prepare(settings)
    ana, ben = sandbox.user(101, "Ana"), sandbox.user(102, "Ben")
    maya = sandbox.user(CREATOR_ID, "Maya")
    question = random_question(4000)
    assert len(question.encode()) > 8000
    async with running_bot(settings, sandbox) as bot:
        sandbox.send_private(ana, question)
        await bot.settle()
        assert bot.replies_to(101) == [texts.HANDOFF_TO_FOLLOWER]
        note = sandbox.sent[CREATOR_ID][-1]
        sandbox.send_private(maya, "It is a long story: see my pinned post.", reply_to=note)
        sandbox.send_private(ben, KNOWN)
        await bot.settle(40)
        assert bot.replies_to(101)[-1].endswith("It is a long story: see my pinned post.")
        assert bot.replies_to(102)[-1].startswith("My tripod is a carbon Peak Design")
        with bot.sessions() as s:
            assert s.scalars(select(FaqExample).where(FaqExample.question == question)).one().source == "handoff"
            assert set(s.scalars(select(RawUpdate.status))) == {"done"}


@pytest.mark.postgres
async def test_a_statement_timeout_dead_letters_the_slow_update_and_the_rest_are_handled(
        sandbox: BotApiSandbox, pg_url: str, tmp_path: Path) -> None:
    """A statement timeout set on the role is about this update (57014), not the database: it is
    retried, dead-lettered with one notice, and every other follower is answered meanwhile."""
    _reset_pg(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER ROLE CURRENT_USER IN DATABASE "{database}" SET statement_timeout = 500'))
    try:
        # 0: the bot sets no statement timeout of its own, so the role's applies
        settings = settings_for(sandbox, pg_url, tmp_path / "data", database={"statement_timeout_seconds": 0})
        prepare(settings)
        people = [sandbox.user(200 + i, f"F{i}") for i in range(5)]
        slowpoke = sandbox.user(300, "Slow")
        sandbox.user(CREATOR_ID, "Maya")
        async with running_bot(settings, sandbox, slow_sql_registry(3.0)) as bot:
            sandbox.send_private(slowpoke, "slow")
            for person in people:
                sandbox.send_private(person, KNOWN)
            await bot.settle(60)
            for person in people:
                assert bot.replies_to(person["id"])[-1].startswith("My tripod is a carbon Peak Design")
            assert bot.replies_to(300) == []
            with bot.sessions() as s:
                slow = s.scalars(select(RawUpdate).where(RawUpdate.chat_key == 300)).one()
                assert slow.status == "dead" and slow.attempts == MAX_ATTEMPTS
                assert "statement timeout" in (slow.error or "") or "QueryCanceled" in (slow.error or "")
            notices = [t for t in bot.replies_to(CREATOR_ID) if "QueryCanceled" in t or "statement timeout" in t]
            assert len(notices) == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER ROLE CURRENT_USER IN DATABASE "{database}" RESET statement_timeout'))
        admin.dispose()


@pytest.mark.postgres
async def test_a_handler_past_its_lease_keeps_its_update(sandbox: BotApiSandbox, pg_url: str,
                                                         tmp_path: Path) -> None:
    """The processor renews the leases of the batch it handles: another worker cannot take a slow
    update over (and handle it a second time) while the first still works on it."""
    _reset_pg(pg_url)
    settings = settings_for(sandbox, pg_url, tmp_path / "data", runtime={"lease_seconds": 2})
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")
    registry = compose(KeywordSentiment)
    slow_feature(registry)
    async with running_bot(settings, sandbox, registry) as bot:
        sandbox.send_private(ana, "slow 6")
        await wait_for(lambda: _claimed(bot), 10, "the slow update to be claimed")
        taken_over: list[int] = []
        for _ in range(12):  # 6 s: three leases' worth
            with bot.sessions() as s, s.begin():
                taken_over += [r.id for r in claim_updates(s, "another-worker", timedelta(seconds=2))]
            await asyncio.sleep(0.5)
        await bot.settle(20)
        assert taken_over == []
        assert bot.replies_to(101) == ["done slowly"]


def _claimed(bot: Any) -> bool:
    with bot.sessions() as s:
        return s.scalar(select(RawUpdate.claimed_by).where(RawUpdate.chat_key == 101)) is not None


def test_a_sender_whose_claim_was_taken_over_changes_nothing(db_url: str) -> None:
    """mark_sent / retry / dead letter check the claim: a slow sender whose lease ran out cannot
    overwrite what the sender that took the row over decided."""
    upgrade(db_url)
    sessions = make_sessionmaker(create_engine(db_url), DEFAULT_CREATOR_ID)
    with sessions() as s, s.begin():
        send_text(s, 5, "hello")
    with sessions() as s, s.begin():
        (row,) = claim_outbox(s, "slow", timedelta(seconds=-1))  # a lease that has already run out
    with sessions() as s, s.begin():
        (again,) = claim_outbox(s, "fast", timedelta(seconds=60))
        assert again.id == row.id
    with sessions() as s, s.begin():
        assert not mark_sent(s, row.id, "slow", 77)
        assert OUTBOX.retry(s, row.id, "slow", timedelta(seconds=1), "timeout") is None
        assert not OUTBOX.dead(s, row.id, "slow", "gave up")
    with sessions() as s:
        stored = s.get(OutboxMessage, row.id)
        assert stored is not None and (stored.status, stored.claimed_by, stored.attempts) == ("pending", "fast", 0)
    with sessions() as s, s.begin():
        assert mark_sent(s, row.id, "fast", 78)
    with sessions() as s:
        stored = s.get(OutboxMessage, row.id)
        assert stored is not None and (stored.status, stored.sent_message_id) == ("sent", 78)


def test_errors_are_classified_by_what_they_mean() -> None:
    from psycopg import errors as pg
    from sqlalchemy.exc import DBAPIError, OperationalError

    def wrapped(exc: Exception) -> DBAPIError:
        return DBAPIError.instance("SELECT 1", {}, exc, Exception)

    for transient in (pg.AdminShutdown(), pg.SerializationFailure(), pg.DeadlockDetected(), pg.ConnectionFailure(),
                      pg.CannotConnectNow(), pg.TooManyConnections()):
        assert is_transient(wrapped(transient)), type(transient).__name__
    for counted in (pg.ProgramLimitExceeded(), pg.QueryCanceled(), pg.LockNotAvailable(), pg.UniqueViolation(),
                    pg.StringDataRightTruncation()):
        assert not is_transient(wrapped(counted)), type(counted).__name__
    assert is_transient(OperationalError("SELECT 1", {}, Exception("connection refused")))
    assert not is_transient(ValueError("a bug in a handler"))


async def test_followers_past_the_rate_limit_cost_no_model_call(sandbox: BotApiSandbox, sqlite_url: str,
                                                                tmp_path: Path) -> None:
    """The limit applies before the model: a flood from one follower embeds only what is answered."""
    settings = settings_for(sandbox, sqlite_url, tmp_path / "data", limits={"follower_messages_per_minute": 3})
    prepare(settings)
    encoder = HashingEncoder()
    ana = sandbox.user(101, "Ana")
    sandbox.user(CREATOR_ID, "Maya")
    flood = [f"question number {i} about tripods" for i in range(12)]
    async with running_bot(settings, sandbox, encoder_factory=lambda name: encoder) as bot:
        encoder.seen.clear()
        for question in flood:
            sandbox.send_private(ana, question)
        await bot.settle(30)
        replies = bot.replies_to(101)
        assert len(replies) == 4 and replies[-1] == texts.SLOW_DOWN  # three answers, then one "slow down"
        embedded = [q for q in encoder.seen if q in flood]
        assert sorted(set(embedded)) == sorted(flood[:3])
