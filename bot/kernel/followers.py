"""Followers and their direct messages."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.messages import IncomingMessage, Person
from bot.store.db import core, dialect_insert
from bot.store.models import (
    DirectMessage,
    Follower,
    OutboxMessage,
    OutboxPerson,
    RawUpdate,
    UpdatePerson,
    utcnow,
)
from bot.store.scope import creator_of


def upsert_follower(session: Session, user: Person) -> None:
    """The follower as Telegram last showed them (one INSERT ... ON CONFLICT: this runs for every message)."""
    now, creator = utcnow(), creator_of(session)
    known = session.identity_map.get(session.identity_key(Follower, (creator, user.id)))
    if known is not None:  # loaded in this transaction already: change that object, or a flush would undo us
        assert isinstance(known, Follower)
        known.first_name, known.last_name = user.first_name or "", user.last_name
        known.username, known.language_code, known.last_seen = user.username, user.language_code, now
        return
    core(session, _statements(session)[0], {
        "creator_id": creator, "user_id": user.id, "first_seen": now, "first_name": user.first_name or "",
        "last_name": user.last_name, "username": user.username, "language_code": user.language_code, "last_seen": now})


_NAMES = ("first_name", "last_name", "username", "language_code", "last_seen")
# a stored message's columns, and what a caller that leaves one out gets
_MESSAGE = {"user_id": None, "chat_id": None, "message_id": None, "direction": None, "inbox": "bot",
            "business_connection_id": None, "topic_id": None, "from_creator": False, "content_type": "text",
            "text": None, "created_at": None}


@cache
def _built(dialect: str) -> tuple[Any, Any]:
    insert = dialect_insert(dialect)
    follower = insert(Follower.__table__)
    follower = follower.on_conflict_do_update(index_elements=["creator_id", "user_id"],
                                              set_={k: follower.excluded[k] for k in _NAMES})
    message = insert(DirectMessage.__table__).on_conflict_do_nothing(
        index_elements=["creator_id", "chat_id", "message_id", "direction", "inbox"])
    return follower, message


def _statements(session: Session) -> tuple[Any, Any]:
    """The follower's upsert and the message's insert, built once per dialect (they run for every message;
    Core statements with bound values, bot/store/db.py `core`)."""
    return _built(session.get_bind().dialect.name)


def store_message(session: Session, **values: Any) -> None:
    """Keep a copy of a message between a follower and the bot (or the creator), once: a replayed update,
    or the echo of a Business reply that the sender records too, finds it stored and changes nothing."""
    unknown = set(values) - set(_MESSAGE)
    if unknown:
        raise TypeError(f"store_message got unknown columns {sorted(unknown)}")
    row = {**_MESSAGE, "created_at": utcnow(), **values, "creator_id": creator_of(session)}
    core(session, _statements(session)[1], row)


def record_incoming(session: Session, message: IncomingMessage) -> None:
    """Store a follower's message to the bot, or in another inbox of the creator (the channel's direct
    messages, a Business chat), with its inbox (idempotent for a replayed update)."""
    assert message.from_user is not None
    upsert_follower(session, message.from_user)
    store_message(session, user_id=message.from_user.id, chat_id=message.chat_id, message_id=message.message_id,
                  direction="in", content_type=message.content_type, text=message.text or message.caption,
                  created_at=message.date, inbox=message.inbox, business_connection_id=message.business_connection_id,
                  topic_id=message.direct_messages_topic_id)


def attribute_update(session: Session, raw_id: int | None, user_id: int) -> None:
    """Mark a stored update (row `raw_id`) as being about a follower who is not in it by id (the
    creator's reply that quotes a handoff note about them), so /forgetme finds it."""
    if raw_id is not None and session.get(UpdatePerson, (raw_id, user_id)) is None:
        session.add(UpdatePerson(raw_id=raw_id, user_id=user_id))


def attribute_quoted(session: Session, raw_id: int | None, chat_id: int, message_id: int) -> None:
    """A stored update carries a message the bot sent to `chat_id` (a reply quotes it, a button press
    comes with it): it is also about every follower whose words that message carried (a digest,
    /faq unanswered), so /forgetme finds and scrubs it."""
    if raw_id is None:
        return
    people = session.scalars(select(OutboxPerson.user_id).join(OutboxMessage, OutboxMessage.id == OutboxPerson.outbox_id)
                             .where(OutboxMessage.chat_id == chat_id, OutboxMessage.sent_message_id == message_id))
    for user_id in sorted(set(people)):
        attribute_update(session, raw_id, user_id)


def drop_pressed_note(session: Session, raw_id: int | None) -> None:
    """A button press carries the message it was under; when that is a note quoting a follower (a draft),
    keep only which message it was, so the follower's words live in one place /forgetme reaches."""
    raw = session.get(RawUpdate, raw_id) if raw_id is not None else None
    query = raw.payload.get("callback_query") if raw is not None and isinstance(raw.payload, dict) else None
    message = query.get("message") if isinstance(query, dict) else None
    if raw is None or not isinstance(query, dict) or not isinstance(message, dict):
        return
    kept = {k: message[k] for k in ("message_id", "date", "chat") if k in message}
    raw.payload = {**raw.payload, "callback_query": {**query, "message": kept}}
