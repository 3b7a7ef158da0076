"""The live FAQ version is published in the database: every worker of a fleet follows it.

Two workers here are two `FaqModel`s on one database and one (shared) data directory, as two
`creatorbot run` processes would have them; each reloads the way the 5-second job does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings, parse_settings
from bot.faq.entries import import_entries
from bot.faq.model import TRAINING_LEASE, FaqModel, LostLease, faq_model_for, train_from_database
from bot.kernel.model_factory import model_factory
from bot.privacy.forget import forget_follower
from bot.store import leases
from bot.store.db import migrated_sessions
from bot.store.live_models import FAQ, live_version, publish_version
from bot.store.models import FaqExample, Handoff, RuntimeLease, utcnow
from nlp import versions
from nlp.faq_data import load_faq
from tests.fakes import fake_encoders

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"
TRIPOD = "Which tripod do you use on hikes?"


@pytest.fixture
def fleet(db_url: str, tmp_path: Path) -> tuple[Settings, sessionmaker[Session]]:
    """SQLite, and PostgreSQL when it is reachable (what a fleet runs on)."""
    settings = parse_settings({"paths": {"data_dir": str(tmp_path / "shared")}, "database": {"url": db_url}})
    sessions = migrated_sessions(db_url)
    with sessions() as session, session.begin():
        import_entries(session, load_faq(SAMPLE))
    return settings, sessions


def worker(settings: Settings, sessions: sessionmaker[Session]) -> FaqModel:
    return faq_model_for(settings, fake_encoders, sessions=sessions)


def train(model: FaqModel, sessions: sessionmaker[Session]) -> str:
    version, _ = train_from_database(model, sessions, 0.95)
    return version


def publish(sessions: sessionmaker[Session], version: str) -> None:
    with sessions() as session, session.begin():
        publish_version(session, FAQ, version)


def answer(model: FaqModel) -> str:
    assert model.matcher is not None
    return model.matcher.match([TRIPOD])[0].entry_id


def test_a_version_trained_by_one_worker_goes_live_on_the_other(fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a, b = worker(settings, sessions), worker(settings, sessions)
    assert b.reload_if_changed() is False and b.version is None  # nothing published yet

    first = train(a, sessions)
    with sessions() as session:
        assert live_version(session, FAQ) == first == "v0001"
    assert not (a.root / "CURRENT").exists()  # the database holds the pointer, not the directory
    assert b.reload_if_changed() and b.version == "v0001" and answer(b) == "tripod"

    second = train(a, sessions)  # /retrain on worker a
    assert b.reload_if_changed() and b.version == second == "v0002"
    assert b.reload_if_changed() is False  # nothing new


def test_a_broken_published_version_leaves_the_other_worker_on_its_own(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a, b = worker(settings, sessions), worker(settings, sessions)
    train(a, sessions)
    assert b.reload_if_changed() and b.version == "v0001"

    broken = versions.new_version_dir(a.root)  # v0002: half written, or from an incompatible release
    (broken / "meta.json").write_text("{ not json")
    publish(sessions, broken.name)
    assert b.reload_if_changed() is False
    assert b.version == "v0001" and answer(b) == "tripod"  # still answering with the previous version
    assert b.reload_if_changed() is False  # and not trying the broken one every 5 seconds

    publish(sessions, "../../etc")  # a pointer out of the model directory is no version
    assert b.reload_if_changed() is False and b.version == "v0001"

    assert train(a, sessions) == "v0003"  # the next good version goes live again
    assert b.reload_if_changed() and b.version == "v0003"


def test_a_version_missing_from_the_workers_directory_keeps_the_live_one(
        fleet: tuple[Settings, sessionmaker[Session]], tmp_path: Path) -> None:
    settings, sessions = fleet
    a = worker(settings, sessions)
    train(a, sessions)
    elsewhere = parse_settings({"paths": {"data_dir": str(tmp_path / "not-shared")},
                                "database": {"url": settings.database.url}})
    b = worker(elsewhere, sessions)  # a worker started without the shared data directory
    assert b.reload_if_changed() is False and b.matcher is None


def test_a_database_without_a_pointer_uses_the_pointer_file(fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    """Upgrading from before the pointer was in the database: the versions and CURRENT are on disk."""
    settings, sessions = fleet
    offline = FaqModel(settings.data_dir, worker(settings, sessions).models)  # no database: the file
    assert train(offline, sessions) == "v0001"
    assert versions.current(offline.root) == "v0001"
    with sessions() as session:
        assert live_version(session, FAQ) is None

    b = worker(settings, sessions)
    assert b.reload_if_changed() and b.version == "v0001"
    assert train(worker(settings, sessions), sessions) == "v0002"  # from now on the database decides
    (b.root / "CURRENT").write_text("v0001\n")
    assert b.reload_if_changed() and b.version == "v0002"


def test_forgetting_every_version_withdraws_the_pointer(fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a, b = worker(settings, sessions), worker(settings, sessions)
    train(a, sessions)
    assert a.reload_if_changed() and b.reload_if_changed()
    a.drop_versions_except(None)
    with sessions() as session:
        assert live_version(session, FAQ) is None
    assert a.version is None and versions.versions(a.root) == []
    assert b.reload_if_changed() and b.version is None and b.matcher is None  # b forgets it too


# --- one training lock for the fleet, and no published version with a forgotten example (issue 20: 8) ---

FAN = 7420001
FAN_QUESTION = "which bag carries the tripod9913 on a long hike?"


class Interrupted:
    """A worker's models whose next training runs `during` after the examples were read, before the
    version is written (what another worker does meanwhile)."""

    def __init__(self, models: Any, during: Callable[[], None]) -> None:
        self.models, self.during = models, [during]

    def fit_faq(self, entries: Any, **kwargs: Any) -> Any:
        if self.during:
            self.during.pop()()
        return self.models.fit_faq(entries, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.models, name)


def learned_from_a_follower(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        session.add(Handoff(user_id=FAN, chat_id=FAN, question=FAN_QUESTION, reason="unsure", status="answered",
                            learned_entry_id="tripod"))
        session.add(FaqExample(entry_id="tripod", question=FAN_QUESTION, source="handoff", status="accepted"))


def accepted_examples(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(FaqExample)
                                  .where(FaqExample.status == "accepted")) or 0)


def test_a_training_that_read_an_example_forgotten_meanwhile_never_publishes_it(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    learned_from_a_follower(sessions)
    with_her = accepted_examples(sessions)
    a, b = worker(settings, sessions), worker(settings, sessions)

    def forget_on_b() -> None:  # /forgetme on worker b commits while a trains on what it read before
        with sessions() as session, session.begin():
            assert forget_follower(session, FAN)["learned_examples"] == 1

    a.models = Interrupted(a.models, forget_on_b)  # type: ignore[assignment]
    version = train(a, sessions)
    assert accepted_examples(sessions) == with_her - 1
    with sessions() as session:
        assert live_version(session, FAQ) == version
    assert b.reload_if_changed() and b.version == version
    assert b.matcher is not None and b.matcher.meta.n_examples == with_her - 1  # trained again, without hers
    assert versions.versions(b.root) == [version]  # the version with her question was never kept


def test_forgetting_on_one_worker_waits_for_the_version_another_is_writing(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a, b = worker(settings, sessions), worker(settings, sessions)
    train(a, sessions)
    dropping: list[threading.Thread] = []
    waited: list[bool] = []

    def drop_on_b() -> None:  # b deletes every version (after /forgetme) while a is training
        thread = threading.Thread(target=b.drop_versions_except, args=(None,))
        thread.start()
        thread.join(1.5)
        waited.append(thread.is_alive())
        dropping.append(thread)

    a.models = Interrupted(a.models, drop_on_b)  # type: ignore[assignment]
    train(a, sessions)
    dropping[0].join(30)
    assert waited == [True]  # b held off until a's version was written and published
    assert not dropping[0].is_alive()
    assert versions.versions(a.root) == []  # then deleted it: nothing b meant to forget survives
    with sessions() as session:
        assert live_version(session, FAQ) is None
    assert a.reload_if_changed() is False and a.matcher is None  # nothing to load


def test_the_training_lock_is_the_fleets_and_outlives_no_process(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a, b = worker(settings, sessions), worker(settings, sessions)
    seen: list[bool] = []
    a.models = Interrupted(a.models, lambda: seen.append(b.training_busy()))  # type: ignore[assignment]
    train(a, sessions)
    assert seen == [True] and not b.training_busy() and not a.training_busy()

    with sessions() as session, session.begin():  # a worker died holding it: its lease runs out
        assert leases.acquire(session, TRAINING_LEASE, "died-while-training", timedelta(seconds=-1))
    assert not b.training_busy()
    assert train(b, sessions) == "v0002"


def test_a_training_whose_lock_ran_out_and_was_taken_publishes_nothing(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    """The lease stopped being renewed (the database was away past LEASE_TTL) and another worker took the
    lock: the version trained meanwhile is not published, and its directory goes."""
    settings, sessions = fleet
    a = worker(settings, sessions)

    def taken_over() -> None:
        with sessions() as session, session.begin():  # ours ran out; another worker takes it
            session.execute(update(RuntimeLease).where(RuntimeLease.name == TRAINING_LEASE)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
            assert leases.acquire(session, TRAINING_LEASE, "the-other-worker", timedelta(minutes=2))

    a.models = Interrupted(a.models, taken_over)  # type: ignore[assignment]
    with pytest.raises(LostLease):
        train(a, sessions)
    assert versions.versions(a.root) == []
    with sessions() as session:
        assert live_version(session, FAQ) is None
        assert leases.holder_of(session, TRAINING_LEASE) == "the-other-worker"  # theirs is not released by us
    with sessions() as session, session.begin():  # the other worker is done
        leases.release(session, TRAINING_LEASE, "the-other-worker")
    with pytest.raises(LostLease), a.exclusive():  # nor may it delete versions under a lock it does not hold
        with sessions() as session, session.begin():
            session.execute(update(RuntimeLease).values(holder="a-third-worker"))
        a.drop_locked(None)


def test_a_head_loads_at_its_first_question_and_again_after_the_budget_dropped_it(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    """Two creators of one process share the factory and its head budget (bot.runtime.shared)."""
    settings, sessions = fleet
    version = train(worker(settings, sessions), sessions)
    models = model_factory(settings, fake_encoders)
    a = faq_model_for(settings, models=models, sessions=sessions)
    b = faq_model_for(settings, models=models, sessions=sessions)
    assert a.reload_if_changed(lazy=True) and b.reload_if_changed(lazy=True)
    assert a.version == b.version == version and len(models.faq_heads) == 0  # live, no head read yet
    assert not a.loaded and not b.loaded
    assert a.trained_at > 0 and a.default_threshold is not None  # what the jobs read, without the head

    assert answer(a) == "tripod"
    one = models.faq_heads.loaded_bytes()
    assert one > 0 and len(models.faq_heads) == 1
    models.faq_heads.budget = int(one * 1.5)  # room for one head
    assert answer(b) == "tripod"  # b's head loads; a's is dropped
    assert b.loaded and not a.loaded and len(models.faq_heads) == 1
    assert answer(a) == "tripod" and a.loaded and not b.loaded  # a's loads again, b's goes
    assert a.version == b.version == version  # dropping a head never changes which version is live


def test_a_lazily_adopted_version_that_cannot_be_read_falls_back_at_its_first_question(
        fleet: tuple[Settings, sessionmaker[Session]]) -> None:
    settings, sessions = fleet
    a = worker(settings, sessions)
    train(a, sessions)
    second = train(a, sessions)
    (a.root / second / "head.npz").write_bytes(b"not a head")  # meta.json still reads
    b = worker(settings, sessions)
    assert b.reload_if_changed(lazy=True) and b.version == second
    assert answer(b) == "tripod" and b.version == "v0001"  # the newest older version answers
