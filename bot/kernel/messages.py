"""What the use cases read from an update: plain data, no Telegram types.

Handlers convert Telegram objects into these (bot/kernel/convert.py), so the same services
serve the bot, the CLI and a web dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class IncomingMessage:
    """A message in a private chat, the channel or its discussion group."""

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
