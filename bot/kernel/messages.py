"""What the use cases read from an update: plain data, no Telegram types.

Handlers convert Telegram objects into these (bot/kernel/convert.py), so the same services
serve the bot, the CLI and a web dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Telegram's own bounds (UTF-16 units): what we send is split to them, a forged update cut to them
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


@dataclass(frozen=True)
class Person:
    """A Telegram user as the services see them."""

    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name


@dataclass(frozen=True)
class PostRef:
    """A channel post, by chat and message id (the origin of an automatic forward)."""

    chat_id: int
    message_id: int


BOT_CHAT, CHANNEL_DM, BUSINESS = "bot", "channel_dm", "business"  # the inboxes a question can come from
INBOXES = (BOT_CHAT, CHANNEL_DM, BUSINESS)


@dataclass(frozen=True)
class ReplyTarget:
    """Where an answer to a follower goes, besides the chat: through the creator's Business connection
    (their own chat with the follower), or into the follower's topic of the channel's direct messages.
    Neither: the bot's own chat."""

    business_connection_id: str | None = None
    direct_messages_topic_id: int | None = None

    @property
    def inbox(self) -> str:
        if self.business_connection_id:
            return BUSINESS
        return CHANNEL_DM if self.direct_messages_topic_id is not None else BOT_CHAT


BOT_TARGET = ReplyTarget()


@dataclass(frozen=True)
class IncomingMessage:
    """A message in a private chat, the channel, its discussion group or direct messages, or a chat
    of the creator's connected Business account (`business_connection_id`)."""

    chat_id: int
    message_id: int
    date: datetime
    chat_type: str = "private"
    from_user: Person | None = None
    text: str | None = None
    caption: str | None = None
    content_type: str = "text"
    edit_date: datetime | None = None
    message_thread_id: int | None = None
    is_automatic_forward: bool = False
    forwarded_post: PostRef | None = None
    reply_to_message: IncomingMessage | None = None
    business_connection_id: str | None = None
    direct_messages_topic_id: int | None = None
    direct_messages_topic_user_id: int | None = None  # whose topic it is (the follower Telegram opened it for)
    sent_by_bot: bool = False  # a Business message the bot itself sent for the account

    @property
    def reply_target(self) -> ReplyTarget:
        return ReplyTarget(self.business_connection_id, self.direct_messages_topic_id)

    @property
    def inbox(self) -> str:
        return self.reply_target.inbox


@dataclass(frozen=True)
class BusinessConnectionInfo:
    """A business_connection update: the creator's account connected, changed or disconnected."""

    id: str
    user: Person
    user_chat_id: int
    date: datetime
    is_enabled: bool
    can_reply: bool
    can_read_messages: bool


@dataclass(frozen=True)
class DeletedMessages:
    """Messages deleted in a chat of a connected Business account."""

    business_connection_id: str
    chat_id: int
    message_ids: tuple[int, ...]


@dataclass(frozen=True)
class ReactionCounts:
    """The latest reaction counts of a channel post, keyed by emoji (or custom emoji id)."""

    chat_id: int
    message_id: int
    date: datetime
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MembershipChange:
    """A change of somebody's status in the channel."""

    chat_id: int
    user_id: int
    old_status: str
    new_status: str
    date: datetime
