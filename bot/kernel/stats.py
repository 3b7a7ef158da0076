"""A quick summary of what is stored (creator `/stats`, demo summary)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import (
    ChannelPost,
    Comment,
    DirectMessage,
    FaqEntryRow,
    Follower,
    FollowerCountSnapshot,
    MembershipEvent,
    OutboxMessage,
    PostTag,
    RawUpdate,
    Reminder,
    utcnow,
)


@dataclass(frozen=True)
class StoredCounts:
    followers: int
    dms: int
    posts: int
    tags: int
    comments: int
    linked: int
    joins: int
    leaves: int
    members: str
    updates: int
    pending: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def work_pending(session: Session) -> bool:
    """Is any stored update unhandled, any outbox message unsent, or any reminder (or job) due?"""
    pending = session.scalar(select(func.count()).select_from(RawUpdate).where(RawUpdate.status == "pending"))
    owed = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
    due = session.scalar(select(func.count()).select_from(Reminder).where(
        Reminder.status == "active", Reminder.due_at <= utcnow()))
    return bool(pending or owed or due)


def stored_counts(session: Session) -> StoredCounts:
    def count(stmt: object) -> int:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]

    latest = session.scalar(select(FollowerCountSnapshot.count)
                            .order_by(FollowerCountSnapshot.taken_at.desc()).limit(1))
    return StoredCounts(
        followers=count(select(func.count()).select_from(Follower)),
        dms=count(select(func.count()).select_from(DirectMessage)),
        posts=count(select(func.count()).select_from(ChannelPost)),
        tags=count(select(func.count(func.distinct(PostTag.tag)))),
        comments=count(select(func.count()).select_from(Comment)),
        linked=count(select(func.count()).select_from(Comment).where(Comment.post_id.is_not(None))),
        joins=count(select(func.count()).select_from(MembershipEvent).where(MembershipEvent.event == "join")),
        leaves=count(select(func.count()).select_from(MembershipEvent).where(MembershipEvent.event == "leave")),
        members=str(latest) if latest is not None else "not measured yet (I read it daily once I'm an admin of the channel)",
        updates=count(select(func.count()).select_from(RawUpdate)),
        pending=count(select(func.count()).select_from(RawUpdate).where(RawUpdate.status == "pending")),
    )


def faq_entry_count(session: Session) -> int:
    """Active FAQ entries (the setup checklist and the FAQ overview show it)."""
    return int(session.scalar(select(func.count()).select_from(FaqEntryRow).where(FaqEntryRow.active.is_(True))) or 0)
