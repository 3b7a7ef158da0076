"""The channel's direct messages: each follower writes in a topic of their own; a question there is
answered in that topic, handed off or drafted like any other, and stored with its inbox."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.inbox.chats import creator_active, creator_wrote, inbox_chat
from bot.kernel.followers import record_incoming
from bot.kernel.inboxes import hand_to_answerer
from bot.kernel.messages import CHANNEL_DM, IncomingMessage
from bot.kernel.services import Services

# Telegram's stand-ins for a message the channel itself (an admin posting as the channel) wrote
SERVICE_USERS = frozenset({777000, 136817688})


async def on_message(services: Services, session: Session, message: IncomingMessage) -> str:
    topic = message.direct_messages_topic_id
    sender = message.from_user
    if topic is None or sender is None or sender.id in SERVICE_USERS:
        return "ignored"
    chat = inbox_chat(session, CHANNEL_DM, message.chat_id, topic)
    owner = message.direct_messages_topic_user_id or sender.id  # the topic's own user, never who writes in it
    if services.settings.is_creator(sender.id) or sender.id != owner:
        # the creator (or another admin of the channel) answering in a follower's topic: never a question,
        # and the topic is theirs for a while
        creator_wrote(chat, message.date)
        return "creator"
    chat.user_id = owner
    record_incoming(session, message)
    if chat.excluded:
        return "excluded"
    if creator_active(services.settings, chat.creator_last_at):
        return "creator-active"
    await hand_to_answerer(services, session, message)
    return "question"
