"""The creator's topic use cases as plain functions: /abtest's arms, soft tags, the auto-reminder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import parse_settings
from bot.faq.entries import import_entries, training_entries
from bot.faq.model import faq_model_for
from bot.kernel.services import Services
from bot.store.db import migrated_sessions
from bot.store.models import ChannelPost, Comment, PostTag, Reminder, utcnow
from bot.topics.abtest import compare_arms
from bot.topics.auto_reminder import plan_auto_reminder, schedule_auto_reminder
from bot.topics.soft_tags import soft_tags, store_soft_tags, tag_untagged_posts, untagged_posts
from nlp.faq_data import load_faq
from tests.conftest import CREATOR_ID
from tests.fakes import HashingEncoder

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "demo_data" / "faq.yaml"
NOW = utcnow()


@pytest.fixture
def sessions(sqlite_url: str) -> sessionmaker[Session]:
    return migrated_sessions(sqlite_url)


def add_post(session: Session, message_id: int, text: str, tags: Sequence[str], commenters: int) -> int:
    post = ChannelPost(chat_id=-100, message_id=message_id, text=text,
                       posted_at=NOW - timedelta(days=message_id % 20 + 1, hours=message_id % 7))
    session.add(post)
    session.flush()
    session.add_all(PostTag(post_id=post.id, tag=tag) for tag in tags)
    session.add_all(Comment(chat_id=-200, message_id=message_id * 100 + i, post_id=post.id, user_id=1000 + i,
                            text="wow", created_at=post.posted_at + timedelta(minutes=5)) for i in range(commenters))
    return post.id


def channel(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        for i in range(4):
            add_post(session, 10 + i, f"Hike {i} #hiking", ["hiking"], commenters=6)
            add_post(session, 20 + i, f"Gear {i} #gear", ["gear"], commenters=1)


def test_abtest_arms_are_two_tags_or_two_hours(sessions: sessionmaker[Session]) -> None:
    settings = parse_settings({})
    channel(sessions)
    with sessions() as session:
        assert compare_arms(session, settings, []) is None
        assert compare_arms(session, settings, ["#hiking"]) is None
        assert compare_arms(session, settings, ["a", "b", "c"]) is None
        tags = compare_arms(session, settings, ["#Hiking", "gear"])
        assert tags is not None and (tags.a, tags.b) == ("#hiking", "#gear")
        assert (tags.result.n_a, tags.result.n_b) == (4, 4)
        hours = compare_arms(session, settings, ["9", "18"])
        assert hours is not None and (hours.a, hours.b) == ("09:00", "18:00")
        not_hours = compare_arms(session, settings, ["9", "24"])  # 24 is no hour: two tags
        assert not_hours is not None and (not_hours.a, not_hours.b) == ("#9", "#24")


def test_soft_tags_come_from_the_creators_vocabulary_and_never_overwrite(sessions: sessionmaker[Session]) -> None:
    channel(sessions)
    with sessions() as session, session.begin():
        hike = add_post(session, 30, "A long hiking day in the hills", [], commenters=0)
        later = add_post(session, 31, "New gear: a camera bag", [], commenters=0)
        add_post(session, 32, "   ", [], commenters=0)  # no text: nothing to go by
    with sessions() as session:
        work = untagged_posts(session)
    assert work.vocab == ["gear", "hiking"] and [p for p, _ in work.posts] == [hike, later]
    tags = soft_tags(HashingEncoder(), work)
    by_post = {t.post_id: t for t in tags if t.weight == max(x.weight for x in tags if x.post_id == t.post_id)}
    assert by_post[hike].tag == "hiking"
    assert all(abs(sum(t.weight for t in tags if t.post_id == p) - 1.0) < 1e-6 for p in by_post)
    with sessions() as session, session.begin():
        session.add(PostTag(post_id=later, tag="gear"))  # the creator tagged it meanwhile
    with sessions() as session, session.begin():
        stored = store_soft_tags(session, tags)
    with sessions() as session:
        rows = session.execute(select(PostTag.post_id, PostTag.source).where(PostTag.post_id.in_([hike, later]))).all()
    assert stored == len([t for t in tags if t.post_id == hike])
    assert sorted(rows) == sorted([(hike, "soft")] * stored + [(later, "hashtag")])
    assert store_soft_tags(session, []) == 0


class LockWatchingEncoder(HashingEncoder):
    """The fake encoder, noting whether a loop-side transaction was open at each call."""

    def __init__(self) -> None:
        super().__init__()
        self.services: Services | None = None
        self.during_transaction: list[bool] = []

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if self.services is not None:
            self.during_transaction.append(self.services.db_lock.locked())
        return super().encode(texts, batch_size)


async def test_soft_tagging_embeds_with_no_transaction_open(sessions: sessionmaker[Session], sqlite_url: str,
                                                            tmp_path: Path) -> None:
    settings = parse_settings({"paths": {"data_dir": str(tmp_path)}, "database": {"url": sqlite_url}})
    encoder = LockWatchingEncoder()
    services = Services(settings=settings, sessions=sessions,
                        faq_model=faq_model_for(settings, lambda name: encoder, sessions=sessions))
    assert await tag_untagged_posts(services) == 0  # no FAQ model yet: no encoder to tag with
    with sessions() as session, session.begin():
        import_entries(session, load_faq(SAMPLE))
    channel(sessions)
    with sessions() as session, session.begin():
        hike = add_post(session, 30, "A long hiking day in the hills", [], commenters=0)
    model = services.faq_model
    assert model is not None
    with sessions() as session:
        model.train(training_entries(session), 0.95)
    assert model.reload_if_changed()
    encoder.services, encoder.during_transaction = services, []
    assert await tag_untagged_posts(services) >= 1
    assert encoder.during_transaction == [False, False]
    with sessions() as session:
        assert session.scalars(select(PostTag.tag).where(PostTag.post_id == hike, PostTag.source == "soft")).first()
    assert await tag_untagged_posts(services) == 0  # tagged once


async def test_the_auto_reminder_names_the_top_topic_at_the_best_slot(sessions: sessionmaker[Session],
                                                                      tmp_path: Path) -> None:
    settings = parse_settings({"creator": {"user_ids": [CREATOR_ID]}, "paths": {"data_dir": str(tmp_path)}})
    with sessions() as session:
        assert plan_auto_reminder(session, settings, NOW) is None  # nothing to suggest yet
    channel(sessions)
    with sessions() as session:
        planned = plan_auto_reminder(session, settings, NOW)
    assert planned is not None and "#hiking" in planned.text
    assert NOW <= planned.due_at <= NOW + timedelta(hours=24)

    services = Services(settings=settings, sessions=sessions)
    row = await schedule_auto_reminder(services, NOW)
    assert row is not None
    with sessions() as session:
        stored = session.scalars(select(Reminder).where(Reminder.kind == "auto")).one()
    assert (stored.chat_id, stored.text, stored.status) == (CREATOR_ID, planned.text, "active")
    nobody = Services(settings=parse_settings({}), sessions=sessions)
    assert await schedule_auto_reminder(nobody, NOW) is None  # no creator configured: nobody to remind
