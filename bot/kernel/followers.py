"""Followers and their direct messages."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.kernel.messages import IncomingMessage, Person
from bot.store.models import DirectMessage, Follower, RawUpdate, UpdatePerson, utcnow


def upsert_follower(session: Session, user: Person) -> Follower:
    follower = session.get(Follower, user.id)
    now = utcnow()
    if follower is None:
        follower = Follower(user_id=user.id, first_seen=now)
        session.add(follower)
    follower.first_name = user.first_name or ""
    follower.last_name = user.last_name
    follower.username = user.username
    follower.language_code = user.language_code
    follower.last_seen = now
    return follower


def record_incoming(session: Session, message: IncomingMessage) -> DirectMessage:
    """Store a follower's message to the bot, or in another inbox of the creator (the channel's direct
    messages, a Business chat), with its inbox (idempotent for a replayed update)."""
    assert message.from_user is not None
    upsert_follower(session, message.from_user)
    existing = session.query(DirectMessage).filter_by(
        chat_id=message.chat_id, message_id=message.message_id, direction="in", inbox=message.inbox).one_or_none()
    if existing is not None:
        return existing
    dm = DirectMessage(user_id=message.from_user.id, chat_id=message.chat_id,
                       message_id=message.message_id, direction="in",
                       content_type=message.content_type, text=message.text or message.caption,
                       created_at=message.date, inbox=message.inbox,
                       business_connection_id=message.business_connection_id,
                       topic_id=message.direct_messages_topic_id)
    session.add(dm)
    session.flush()
    return dm


def attribute_update(session: Session, raw_id: int | None, user_id: int) -> None:
    """Mark a stored update (row `raw_id`) as being about a follower who is not in it by id (the
    creator's reply that quotes a handoff note about them), so /forgetme finds it."""
    if raw_id is not None and session.get(UpdatePerson, (raw_id, user_id)) is None:
        session.add(UpdatePerson(raw_id=raw_id, user_id=user_id))


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
