"""Telegram objects into the plain data the services take (bot/kernel/messages.py)."""

from __future__ import annotations

from telegram import (
    BusinessConnection,
    BusinessMessagesDeleted,
    ChatMemberUpdated,
    Message,
    MessageOriginChannel,
    MessageReactionCountUpdated,
    User,
)

from bot.kernel.messages import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    BusinessConnectionInfo,
    DeletedMessages,
    IncomingMessage,
    MembershipChange,
    Person,
    PostRef,
    ReactionCounts,
)

CONTENT_TYPES = ("text", "sticker", "photo", "voice", "video", "video_note", "audio", "document",
                 "animation", "location", "contact", "poll", "dice")




def _bounded(text: str | None, limit: int) -> str | None:
    return text[:limit] if text is not None else None


def person(user: User) -> Person:
    return Person(id=user.id, first_name=user.first_name or "", last_name=user.last_name,
                  username=user.username, language_code=user.language_code)


def content_type(message: Message) -> str:
    return next((t for t in CONTENT_TYPES if getattr(message, t, None)), "other")


def incoming(message: Message, *, with_reply: bool = True) -> IncomingMessage:
    origin = message.forward_origin
    forwarded = (PostRef(origin.chat.id, origin.message_id)
                 if isinstance(origin, MessageOriginChannel) else None)
    parent = message.reply_to_message
    topic = message.direct_messages_topic if message.chat.is_direct_messages else None
    return IncomingMessage(
        chat_id=message.chat_id, message_id=message.message_id, date=message.date,
        chat_type=str(message.chat.type),
        from_user=person(message.from_user) if message.from_user else None,
        text=_bounded(message.text, TEXT_LIMIT), caption=_bounded(message.caption, CAPTION_LIMIT),
        content_type=content_type(message),
        edit_date=message.edit_date, message_thread_id=message.message_thread_id,
        is_automatic_forward=bool(message.is_automatic_forward), forwarded_post=forwarded,
        reply_to_message=incoming(parent, with_reply=False) if parent is not None and with_reply else None,
        business_connection_id=message.business_connection_id,
        direct_messages_topic_id=topic.topic_id if topic is not None else None,
        direct_messages_topic_user_id=topic.user.id if topic is not None and topic.user is not None else None,
        sent_by_bot=message.sender_business_bot is not None,
    )


def business_connection(connection: BusinessConnection) -> BusinessConnectionInfo:
    rights = connection.rights
    return BusinessConnectionInfo(
        id=connection.id, user=person(connection.user), user_chat_id=connection.user_chat_id,
        date=connection.date, is_enabled=bool(connection.is_enabled),
        can_reply=bool(rights is not None and rights.can_reply),
        can_read_messages=bool(rights is not None and rights.can_read_messages))


def deleted_messages(deleted: BusinessMessagesDeleted) -> DeletedMessages:
    return DeletedMessages(business_connection_id=deleted.business_connection_id, chat_id=deleted.chat.id,
                           message_ids=tuple(int(i) for i in deleted.message_ids))


def reaction_counts(update: MessageReactionCountUpdated) -> ReactionCounts:
    counts: dict[str, int] = {}
    for rc in update.reactions:
        key = getattr(rc.type, "emoji", None) or getattr(rc.type, "custom_emoji_id", None) or rc.type.type
        counts[str(key)] = counts.get(str(key), 0) + rc.total_count
    return ReactionCounts(chat_id=update.chat.id, message_id=update.message_id, date=update.date,
                          counts=counts)


def membership_change(change: ChatMemberUpdated) -> MembershipChange:
    return MembershipChange(chat_id=change.chat.id, user_id=change.new_chat_member.user.id,
                            old_status=str(change.old_chat_member.status),
                            new_status=str(change.new_chat_member.status), date=change.date)
