"""SQLAlchemy 2 typed models: everything the bot stores."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, int: BigInteger}


class Creator(Base):
    """One creator this deployment serves: their own bot (the token is read from `token_env`, never stored),
    the Telegram accounts that are the creator (`user_ids`) and their own settings (`settings`: channel, inbox,
    schedule, language as `[[creators]]` gives them). Every other table's rows belong to one creator
    (`CreatorOwned`); deleting the creator deletes them (ON DELETE CASCADE).

    `status`: active | paused (not served) | placeholder (the `default` row a fresh database starts with; the
    first start names its real creators). `down_reason`: why the runtime stopped serving it for now (a revoked
    token), cleared when it answers again."""

    __tablename__ = "creators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    token_env: Mapped[str] = mapped_column(String(128), default="")
    user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="active")
    source: Mapped[str] = mapped_column(String(8), default="config")  # config | cli
    down_reason: Mapped[str | None] = mapped_column(Text)
    down_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


DEFAULT_CREATOR_ID = 1  # the `default` creator: every row of a database from before creators were a thing


def owner_column(primary_key: bool = False) -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("creators.id", ondelete="CASCADE"), primary_key=primary_key,
                         index=not primary_key, autoincrement=False)


class CreatorOwned:
    """A row that belongs to exactly one creator. Sessions are scoped to a creator (bot/store/scope.py):
    every SELECT, UPDATE and DELETE of such a table gets `creator_id = <the session's creator>`, and a new
    row gets the session's creator; a session without a creator cannot touch these tables at all."""

    creator_id: Mapped[int] = owner_column()


class RawUpdate(CreatorOwned, Base):
    """Every update exactly as Telegram sent it, committed before it is confirmed: the work queue.

    A worker claims rows (`claimed_by`, `lease_until`) and marks them done in the handler's own
    transaction; a lease that runs out (the worker died) is claimed again. Telegram may reuse an
    `update_id` after a quiet week, so the row key is `id` and a redelivery is recognised by
    `dedupe_key` (a hash of the whole update). `chat_key` orders a chat's updates.
    """

    __tablename__ = "raw_updates"
    __table_args__ = (Index("ix_raw_updates_queue", "creator_id", "status", "chat_key", "update_id"),
                      UniqueConstraint("creator_id", "dedupe_key", name="uq_raw_updates_dedupe"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(index=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    chat_key: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class UpdatePerson(CreatorOwned, Base):
    """A person an update is from or about (sender, quoted author, joined member): /forgetme finds
    their raw updates by id through this index, never by text."""

    __tablename__ = "update_people"
    raw_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("raw_updates.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, index=True)


class Follower(CreatorOwned, Base):
    __tablename__ = "followers"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class DirectMessage(CreatorOwned, Base):
    """A message between a follower and the bot, either way."""

    __tablename__ = "direct_messages"
    __table_args__ = (UniqueConstraint("creator_id", "chat_id", "message_id", "direction", "inbox",
                                       name="uq_direct_messages_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    chat_id: Mapped[int]
    message_id: Mapped[int]
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    # bot: the bot's own chat | channel_dm: the channel's direct messages (a topic per follower) |
    # business: the creator's own chats (Telegram Business), where message ids are the creator's
    inbox: Mapped[str] = mapped_column(String(12), default="bot", server_default="bot")
    business_connection_id: Mapped[str | None] = mapped_column(String(64), index=True)
    topic_id: Mapped[int | None]
    from_creator: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    content_type: Mapped[str] = mapped_column(String(20), default="text")
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    update_id: Mapped[int | None]
    sentiment: Mapped[str | None] = mapped_column(String(10))
    p_negative: Mapped[float | None] = mapped_column(Float)
    p_neutral: Mapped[float | None] = mapped_column(Float)
    p_positive: Mapped[float | None] = mapped_column(Float)


class ChannelPost(CreatorOwned, Base):
    __tablename__ = "channel_posts"
    __table_args__ = (UniqueConstraint("creator_id", "chat_id", "message_id", name="uq_channel_posts_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    message_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    posted_at: Mapped[datetime] = mapped_column(index=True)
    edited_at: Mapped[datetime | None]
    discussion_message_id: Mapped[int | None] = mapped_column(index=True)


class PostTag(CreatorOwned, Base):
    """S(c, t): how much post c is about tag t (1.0 for its own hashtags)."""

    __tablename__ = "post_tags"
    post_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("channel_posts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(10), default="hashtag")


class Comment(CreatorOwned, Base):
    """A message in the linked discussion group, linked to its channel post when it is a comment."""

    __tablename__ = "comments"
    __table_args__ = (UniqueConstraint("creator_id", "chat_id", "message_id", name="uq_comments_message"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    message_id: Mapped[int]
    post_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("channel_posts.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(index=True)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    sentiment: Mapped[str | None] = mapped_column(String(10), index=True)  # None: not classified yet
    p_negative: Mapped[float | None] = mapped_column(Float)
    p_neutral: Mapped[float | None] = mapped_column(Float)
    p_positive: Mapped[float | None] = mapped_column(Float)
    sentiment_source: Mapped[str | None] = mapped_column(String(10))  # model | creator


class PostReactions(CreatorOwned, Base):
    """The latest reaction counts Telegram reported for a post."""

    __tablename__ = "post_reactions"
    post_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("channel_posts.id", ondelete="CASCADE"), primary_key=True
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowerCountSnapshot(CreatorOwned, Base):
    __tablename__ = "follower_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    count: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MembershipEvent(CreatorOwned, Base):
    """A join or a leave in the channel (from chat_member updates)."""

    __tablename__ = "membership_events"
    __table_args__ = (Index("ix_membership_chat_at", "creator_id", "chat_id", "at"),
                      UniqueConstraint("creator_id", "update_id", name="uq_membership_events_update"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    user_id: Mapped[int]
    event: Mapped[str] = mapped_column(String(5))  # "join" | "leave"
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    update_id: Mapped[int | None]


class OutboxMessage(CreatorOwned, Base):
    """A Bot API call the bot owes somebody; sent (and retried) by the outbox sender."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),
                      Index("ix_outbox_queue", "creator_id", "status", "chat_id", "id"),
                      Index("ix_outbox_sent_message", "creator_id", "chat_id", "sent_message_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(index=True)
    method: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_field: Mapped[str | None] = mapped_column(String(20))
    file_name: Mapped[str | None] = mapped_column(String(128))
    file_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(40), default="reply")
    handoff_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the handoff a note or relay is about
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    sent_message_id: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class OutboxPerson(CreatorOwned, Base):
    """A follower whose words or name an outbox row carries (a digest, /faq unanswered, /faq list),
    recorded when the row is written: /forgetme finds the row, and the copy it left, by their id."""

    __tablename__ = "outbox_people"
    outbox_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, index=True)


class SendPace(CreatorOwned, Base):
    """When the next message may go to a chat, for the whole fleet (chat 0: every chat together)."""

    __tablename__ = "send_pace"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    next_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch


class RuntimeLease(CreatorOwned, Base):
    """A role one process of the fleet holds at a time (poller, scheduler), renewed while alive."""

    __tablename__ = "runtime_leases"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class LiveModel(CreatorOwned, Base):
    """Which version of a model every worker of the fleet answers with (kind "faq": a directory name
    under `<data_dir>/faq`). Workers poll this row and switch when it changes."""

    __tablename__ = "live_models"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelForgets(CreatorOwned, Base):
    """How many times /forgetme removed training examples of a model (kind "faq"): a version trained
    on what was read before the count changed is not published (bot/store/live_models.py)."""

    __tablename__ = "model_forgets"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class ErrorNotice(CreatorOwned, Base):
    """When the creator was last told about an unexpected error of one kind (no storms)."""

    __tablename__ = "error_notices"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_notified_at: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=1)


class FaqEntryRow(CreatorOwned, Base):
    """One answer of the creator's FAQ (several example questions point to it)."""

    __tablename__ = "faq_entries"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(10), default="file")  # file | handoff
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqExample(CreatorOwned, Base):
    """An example question for an entry: from the FAQ file, learned from a handoff, or added by the
    creator (maybe a follower's question: `FaqExamplePerson` says whose)."""

    __tablename__ = "faq_examples"
    # unique by a hash: a long question would overflow PostgreSQL's btree row limit (2,704 bytes)
    __table_args__ = (UniqueConstraint("creator_id", "entry_id", "question_hash", name="uq_faq_examples_entry_question_hash"),
                      ForeignKeyConstraint(["creator_id", "entry_id"], ["faq_entries.creator_id", "faq_entries.id"],
                                           ondelete="CASCADE", name="fk_faq_examples_entry"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    question_hash: Mapped[str] = mapped_column(String(64), default=lambda ctx: text_hash(
        ctx.get_current_parameters()["question"]))
    source: Mapped[str] = mapped_column(String(10), default="file")  # file | handoff | creator | review | feedback
    # accepted | pending (waits for review) | negative (the question is NOT answered by this entry: a 👎 or
    # the creator's ✏️ in the daily review; training hands off questions nearly the same as it)
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaqExamplePerson(CreatorOwned, Base):
    """A follower whose question an example is (a learned one, or one the creator added from the
    dashboard): /forgetme finds the example through this index, never by its text."""

    __tablename__ = "faq_example_people"
    example_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("faq_examples.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, index=True)


class FollowerCopy(CreatorOwned, Base):
    """A follower whose words a derived row carries: a question-theme snapshot's keyword, a surge's
    summary and draft, the creator's FAQ dialog pre-filled from a theme (`kind` names the table).
    Written with the row (bot/privacy/provenance.py); /forgetme finds the rows by the follower's id."""

    __tablename__ = "follower_copies"
    __table_args__ = (Index("ix_follower_copies_person", "creator_id", "user_id"),)
    creator_id: Mapped[int] = owner_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class ExportFile(CreatorOwned, Base):
    """A folder `creatorbot export --out` wrote the CSV files to: /forgetme deletes the files when it is
    under the data folder and names it to the creator (to delete by hand) when it is elsewhere."""

    __tablename__ = "export_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(CreatorOwned, Base):
    """A follower's question passed to the creator; the creator's reply is relayed back."""

    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    chat_id: Mapped[int]
    question: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open|answered|closed
    creator_outbox_id: Mapped[int | None] = mapped_column(Integer, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    learned_entry_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # where the answer goes (bot/kernel/messages.py ReplyTarget) and what the creator is asked
    inbox: Mapped[str] = mapped_column(String(12), default="bot", server_default="bot")
    business_connection_id: Mapped[str | None] = mapped_column(String(64))
    topic_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(8), default="handoff", server_default="handoff")  # handoff | draft
    suggested_answer: Mapped[str | None] = mapped_column(Text)  # a draft's answer from the FAQ
    suggested_entry_id: Mapped[str | None] = mapped_column(String(64))


class FaqAnswer(CreatorOwned, Base):
    """An automatic answer the bot gave, with the follower's 👍/👎 and the creator's review.

    Review (the daily "were these right?" list): `review` is None (never listed), "listed", "confirmed"
    (✅: the question became an example of the entry), "wrong" (✏️: a negative example of the entry)
    or "fixed" (the creator replied with the right answer, learned into `learned_entry_id`)."""

    __tablename__ = "faq_answers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    chat_id: Mapped[int]
    question: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(20))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    inbox: Mapped[str] = mapped_column(String(12), default="bot", server_default="bot")
    feedback: Mapped[str | None] = mapped_column(String(4))  # up | down
    feedback_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    threshold: Mapped[float | None] = mapped_column(Float)  # the model's threshold when it answered
    review: Mapped[str | None] = mapped_column(String(10))
    listed_at: Mapped[datetime | None] = mapped_column(index=True)  # when it went into a daily list
    list_outbox_id: Mapped[int | None] = mapped_column(Integer)  # the list message
    fix_outbox_id: Mapped[int | None] = mapped_column(Integer, index=True)  # "reply with the right answer"
    learned_entry_id: Mapped[str | None] = mapped_column(String(64))


class Reminder(CreatorOwned, Base):
    """A one-off or recurring reminder for the creator; sent through the outbox exactly once per due time."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_status_due", "creator_id", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    recurrence: Mapped[str] = mapped_column(String(10), default="once")  # once | daily | weekly
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | done | cancelled
    kind: Mapped[str] = mapped_column(String(10), default="manual")  # manual | auto | report
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    last_sent_at: Mapped[datetime | None]
    missed_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a delivery that failed is tried again at `retry_at` (bot/store/retry.py REMINDERS_POLICY)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class SentimentAlert(CreatorOwned, Base):
    __tablename__ = "sentiment_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SentimentCorrection(CreatorOwned, Base):
    """The creator's relabelling of a comment, used by `sentiment train --include-corrections`."""

    __tablename__ = "sentiment_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(Integer, ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    old_label: Mapped[str | None] = mapped_column(String(10))
    new_label: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettingOverride(CreatorOwned, Base):
    """A setting the creator changed in the chat (`section.key`); it wins over the config file."""

    __tablename__ = "setting_overrides"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KnownChat(CreatorOwned, Base):
    """A channel or group the bot was added to (from my_chat_member updates), offered during setup."""

    __tablename__ = "known_chats"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(256), default="")
    bot_status: Mapped[str] = mapped_column(String(20))  # administrator | member | left | kicked ...
    parent_chat_id: Mapped[int | None]  # a channel's direct-messages chat: the channel it belongs to
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChatDialog(CreatorOwned, Base):
    """A short conversation in progress with the creator (e.g. `/faq add`: question, then answer)."""

    __tablename__ = "chat_dialogs"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BusinessConnection(CreatorOwned, Base):
    """The creator's personal account connected to the bot (Telegram Business → Chatbots).

    `accepted` only when the account is one of `[creator] user_ids`; the bot answers in its chats only
    while `is_enabled` and `can_reply` hold."""

    __tablename__ = "business_connections"
    creator_id: Mapped[int] = owner_column(primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(index=True)
    user_chat_id: Mapped[int]
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    can_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    can_read_messages: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboxChat(CreatorOwned, Base):
    """A chat of an inbox other than the bot's own: a Business chat or a channel direct-messages topic.
    The creator may exclude it ("never answer here"); `creator_last_at` is when they last wrote in it."""

    __tablename__ = "inbox_chats"
    __table_args__ = (UniqueConstraint("creator_id", "inbox", "chat_id", "topic_id", name="uq_inbox_chats_chat"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbox: Mapped[str] = mapped_column(String(12))
    chat_id: Mapped[int]
    topic_id: Mapped[int | None]
    user_id: Mapped[int | None] = mapped_column(index=True)  # the follower on the other side
    business_connection_id: Mapped[str | None] = mapped_column(String(64))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    creator_last_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AskSnapshot(CreatorOwned, Base):
    """The themes of follower questions of one period (`/asks`, the hourly job): the weekly report reads the
    latest. Only references are stored (`data`: per theme its counts and the keys of its questions, e.g.
    "dm:12", "handoff:3", "answer:5", "comment:9"); texts are read from those rows, so /forgetme needs no
    extra step."""

    __tablename__ = "ask_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    questions: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SurgeResponse(CreatorOwned, Base):
    """What a negative surge's alert offered: its themes, a drafted reply (sent only when the creator presses
    Send) and, later, whether the mood recovered."""

    __tablename__ = "surge_responses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer, ForeignKey("sentiment_alerts.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # keywords, counts, example comment ids
    draft: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | editing | sent | pinned | dismissed
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    usual_share: Mapped[float] = mapped_column(Float, default=0.0)
    follow_up_at: Mapped[datetime] = mapped_column(index=True)
    followed_up_at: Mapped[datetime | None]
    recovery: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class PostingPlan(CreatorOwned, Base):
    """A week proposed by /plan: its slots (time, tag, reason, note), and afterwards how it did."""

    __tablename__ = "posting_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int]
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    slots: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    explore_share: Mapped[float] = mapped_column(Float, default=0.0)
    unmet: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[str | None] = mapped_column(Text)  # how it did, once its week is over
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
