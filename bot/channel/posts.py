"""Recording what happens in the channel and its discussion group."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.kernel.messages import IncomingMessage, MembershipChange, ReactionCounts
from bot.store.models import (
    ChannelPost,
    Comment,
    FollowerCountSnapshot,
    MembershipEvent,
    PostReactions,
    PostTag,
    utcnow,
)
from recsys.tags import extract_hashtags

_MEMBER_STATES = {"member", "administrator", "creator", "restricted"}


def message_text(message: IncomingMessage) -> str:
    return message.text or message.caption or ""


def record_channel_post(session: Session, message: IncomingMessage) -> ChannelPost:
    """Store (or, for an edit, update) a channel post and its hashtags."""
    post = session.scalar(select(ChannelPost).where(
        ChannelPost.chat_id == message.chat_id, ChannelPost.message_id == message.message_id))
    text = message_text(message)
    if post is None:
        post = ChannelPost(chat_id=message.chat_id, message_id=message.message_id, text=text,
                           posted_at=message.date)
        session.add(post)
        session.flush()
    else:
        post.text = text
        post.edited_at = message.edit_date or utcnow()
        session.execute(delete(PostTag).where(PostTag.post_id == post.id, PostTag.source == "hashtag"))
    for tag in extract_hashtags(text):
        session.merge(PostTag(post_id=post.id, tag=tag, weight=1.0, source="hashtag"))
    return post


def _origin_post(session: Session, message: IncomingMessage) -> ChannelPost | None:
    origin = message.forwarded_post
    if origin is None:
        return None
    return session.scalar(select(ChannelPost).where(
        ChannelPost.chat_id == origin.chat_id, ChannelPost.message_id == origin.message_id))


def link_discussion_thread(session: Session, message: IncomingMessage) -> ChannelPost | None:
    """The automatic forward of a channel post into the discussion group opens its thread."""
    post = _origin_post(session, message)
    if post is not None:
        post.discussion_message_id = message.message_id
    return post


def find_thread_post(session: Session, message: IncomingMessage) -> ChannelPost | None:
    thread_id = message.message_thread_id
    parent = message.reply_to_message
    if parent is not None and parent.is_automatic_forward:
        post = _origin_post(session, parent)
        if post is not None:
            return post
        thread_id = thread_id or parent.message_id
    if thread_id is None:
        return None
    return session.scalar(select(ChannelPost).where(ChannelPost.discussion_message_id == thread_id))


def record_comment(session: Session, message: IncomingMessage) -> Comment:
    """Store a message of the discussion group, linked to the channel post it comments on."""
    existing = session.scalar(select(Comment).where(
        Comment.chat_id == message.chat_id, Comment.message_id == message.message_id))
    post = find_thread_post(session, message)
    text = message_text(message) or None
    if existing is not None:  # an edit
        existing.text = text
        return existing
    comment = Comment(chat_id=message.chat_id, message_id=message.message_id,
                      post_id=post.id if post else None,
                      user_id=message.from_user.id if message.from_user else None,
                      text=text, created_at=message.date)
    session.add(comment)
    session.flush()
    return comment


def record_reactions(session: Session, update: ReactionCounts) -> PostReactions | None:
    post = session.scalar(select(ChannelPost).where(
        ChannelPost.chat_id == update.chat_id, ChannelPost.message_id == update.message_id))
    if post is None:
        return None
    counts = dict(update.counts)
    row = session.get(PostReactions, post.id)
    if row is None:
        row = PostReactions(post_id=post.id)
        session.add(row)
    row.counts = counts
    row.total = sum(counts.values())
    row.updated_at = update.date
    return row


def record_membership(session: Session, change: MembershipChange, update_id: int) -> MembershipEvent | None:
    """A join or a leave; other status changes (promotions, restrictions) are not joins."""
    was = change.old_status in _MEMBER_STATES
    now = change.new_status in _MEMBER_STATES
    if was == now:
        return None
    if session.scalar(select(MembershipEvent).where(MembershipEvent.update_id == update_id)):
        return None
    event = MembershipEvent(
        chat_id=change.chat_id, user_id=change.user_id,
        event="join" if now else "leave", old_status=change.old_status,
        new_status=change.new_status, at=change.date, update_id=update_id)
    session.add(event)
    return event


def record_member_count(session: Session, chat_id: int, count: int, at: datetime | None = None) -> None:
    session.add(FollowerCountSnapshot(chat_id=chat_id, count=count, taken_at=at or utcnow()))
