"""The channel and its discussion group: record, never reply."""

from __future__ import annotations

from telegram import Update

from bot.channel import posts as channel
from bot.kernel.context import BotContext
from bot.kernel.convert import incoming, membership_change, reaction_counts


async def channel_post(update: Update, context: BotContext) -> None:
    """Store a new or edited channel post with its hashtags."""
    message = update.effective_message
    assert message is not None
    channel.record_channel_post(context.session, incoming(message))


async def group_message(update: Update, context: BotContext) -> None:
    """Store a comment, or link the thread of an automatically forwarded post."""
    message = update.effective_message
    assert message is not None
    if message.is_automatic_forward:
        channel.link_discussion_thread(context.session, incoming(message))
    else:
        channel.record_comment(context.session, incoming(message))


async def reaction_count(update: Update, context: BotContext) -> None:
    """Store the latest reaction counts of a post."""
    assert update.message_reaction_count is not None
    channel.record_reactions(context.session, reaction_counts(update.message_reaction_count))


async def chat_member(update: Update, context: BotContext) -> None:
    """Store joins and leaves of the channel."""
    assert update.chat_member is not None
    channel.record_membership(context.session, membership_change(update.chat_member), update.update_id)


async def snapshot_member_count(context: BotContext) -> None:
    """Job: store the channel's follower count (daily, and once at start)."""
    services = context.services
    chat_id = services.settings.channel.id
    if not chat_id:
        return
    count = await context.bot.get_chat_member_count(chat_id)
    async with services.unit() as session:
        channel.record_member_count(session, chat_id, count)
