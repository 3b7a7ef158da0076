"""Storage: migrations on an empty database and the repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select

from bot.store.db import make_engine, make_sessionmaker, transaction, upgrade
from bot.store.models import DEFAULT_CREATOR_ID, ChannelPost, Comment, PostTag, RawUpdate
from bot.store.updates import mark_update, next_offset, pending_updates, store_raw_updates


def test_migrations_create_every_table(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    for name in ("raw_updates", "followers", "direct_messages", "channel_posts", "post_tags", "comments",
                 "post_reactions", "follower_counts", "membership_events", "outbox", "live_models"):
        assert name in tables
    upgrade(db_url)  # a second upgrade is a no-op


def test_raw_updates_are_stored_once(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    batch = [{"update_id": i, "message": {"text": f"m{i}"}} for i in (5, 6, 7)]
    with transaction(sessions) as s:
        assert store_raw_updates(s, batch) == 3
    with transaction(sessions) as s:  # Telegram redelivers an unconfirmed batch
        assert store_raw_updates(s, [*batch[1:], {"update_id": 8, "weird_new_type": {}}]) == 1
    with transaction(sessions) as s:
        assert next_offset(s) == 9
        assert [u.update_id for u in pending_updates(s)] == [5, 6, 7, 8]
        assert s.scalars(select(RawUpdate).where(RawUpdate.update_id == 8)).one().kind == "weird_new_type"
        mark_update(s, 5, "done")
    with transaction(sessions) as s:
        assert [u.update_id for u in pending_updates(s)] == [6, 7, 8]
    engine.dispose()


def test_posts_tags_and_comments_round_trip(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine, DEFAULT_CREATOR_ID)
    when = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    with transaction(sessions) as s:
        post = ChannelPost(chat_id=-100, message_id=7, text="hi #a", posted_at=when)
        s.add(post)
        s.flush()
        s.add(PostTag(post_id=post.id, tag="a"))
        s.add(Comment(chat_id=-200, message_id=1, post_id=post.id, user_id=5, text="wow", created_at=when))
    with transaction(sessions) as s:
        comment = s.scalars(select(Comment)).one()
        assert comment.created_at == when and comment.created_at.tzinfo is not None
        assert s.scalars(select(PostTag.tag)).all() == ["a"]
    engine.dispose()


def test_migration_0009_renames_dead_letters_and_types_handoff_references(db_url: str) -> None:
    """Rows written before 0009 ("error", "failed", "handoff:ID" purposes, examples unique by their
    text) come out with one word for a dead letter, a typed handoff column and hashed examples."""
    from sqlalchemy import create_engine, text

    from bot.store.models import FaqExample, OutboxMessage, RawUpdate, text_hash

    upgrade(db_url, "0008")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO raw_updates (update_id, dedupe_key, chat_key, kind, payload, received_at, "
                          "status, attempts, not_before) VALUES (1, 'k1', 5, 'message', '{}', :t, 'error', 3, :t)"),
                     {"t": "2026-01-01 00:00:00+00:00"})
        for purpose, status in (("handoff:7", "pending"), ("relay:7", "failed"), ("reply", "sent")):
            conn.execute(text("INSERT INTO outbox (chat_id, method, params, purpose, status, attempts, "
                              "next_attempt_at, created_at) VALUES (5, 'text', '{}', :p, :s, 0, :t, :t)"),
                         {"p": purpose, "s": status, "t": "2026-01-01 00:00:00+00:00"})
        conn.execute(text("INSERT INTO faq_entries (id, answer, tags, source, active, created_at) "
                          "VALUES ('tripod', 'Peak Design', '[]', 'file', true, :t)"), {"t": "2026-01-01 00:00:00+00:00"})
        conn.execute(text("INSERT INTO faq_examples (entry_id, question, source, status, created_at) "
                          "VALUES ('tripod', 'Which tripod?', 'file', 'accepted', :t)"), {"t": "2026-01-01 00:00:00+00:00"})
    engine.dispose()
    upgrade(db_url)
    sessions = make_sessionmaker(create_engine(db_url), DEFAULT_CREATOR_ID)
    with sessions() as s:
        assert s.scalars(select(RawUpdate.status)).one() == "dead"
        rows = {(r.purpose, r.handoff_id, r.status) for r in s.scalars(select(OutboxMessage))}
        assert rows == {("handoff", 7, "pending"), ("relay", 7, "dead"), ("reply", None, "sent")}
        assert s.scalars(select(FaqExample.question_hash)).one() == text_hash("Which tripod?")
    with sessions() as s, s.begin():  # uniqueness now rests on the hash: a 4,000-character question fits
        s.add(FaqExample(entry_id="tripod", question="why " * 1000, source="handoff", status="accepted"))


def test_claims_an_earlier_run_left_are_handed_back_through_the_queue(db_url: str) -> None:
    """A single process on SQLite starts by taking back what its dead predecessor had claimed
    (WorkQueue.reclaim_abandoned): pending claimed rows are free again, finished ones are left alone."""
    from datetime import timedelta

    from bot.store.updates import UPDATES, claim_updates

    upgrade(db_url)
    sessions = make_sessionmaker(make_engine(db_url), DEFAULT_CREATOR_ID)
    with transaction(sessions) as s:
        store_raw_updates(s, [{"update_id": i, "message": {"message_id": i, "date": 0, "text": "hi",
                                                            "chat": {"id": 10 + i, "type": "private"}}}
                              for i in (1, 2, 3)])
    with transaction(sessions) as s:
        claimed = claim_updates(s, "dead-worker", timedelta(minutes=5))
        assert len(claimed) == 3
        mark_update(s, 3, "done")
    with transaction(sessions) as s:
        assert claim_updates(s, "new-worker", timedelta(minutes=5)) == []  # the dead one's leases still run
        assert UPDATES.reclaim_abandoned(s) == 2
    with transaction(sessions) as s:
        assert sorted(r.update_id for r in claim_updates(s, "new-worker", timedelta(minutes=5))) == [1, 2]
        done = s.scalars(select(RawUpdate).where(RawUpdate.update_id == 3)).one()
        assert (done.status, done.claimed_by) == ("done", "dead-worker")
