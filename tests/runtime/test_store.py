"""Storage: migrations on an empty database and the repositories, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select

from bot.store.db import make_engine, make_sessionmaker, transaction, upgrade
from bot.store.models import ChannelPost, Comment, PostTag, RawUpdate
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
    sessions = make_sessionmaker(engine)
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
    sessions = make_sessionmaker(engine)
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
