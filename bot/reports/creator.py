"""Creator commands (gated to the configured creator ids)."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.kernel.context import BotContext
from bot.kernel.outbox import send_text
from bot.kernel.stats import stored_counts


async def stats(update: Update, context: BotContext) -> None:
    """Show what is stored so far."""
    message = update.effective_message
    assert message is not None
    counts = stored_counts(context.session)
    send_text(context.session, message.chat_id, texts.STATS.format(**counts.as_dict()))


async def dashboard(update: Update, context: BotContext) -> None:
    """A button that opens the dashboard Mini App (Telegram signs who opens it)."""
    message = update.effective_message
    assert message is not None
    url = context.services.settings.web.public_url
    if not url:
        send_text(context.session, message.chat_id, texts.DASHBOARD_OFF)
        return
    send_text(context.session, message.chat_id, texts.DASHBOARD_OPEN, web_app=(texts.DASHBOARD_BUTTON, url))


async def refuse(update: Update, context: BotContext) -> None:
    """A creator command from someone else, or from the creator in another chat.

    Followers get a polite refusal in private (never a word in a group); the creator is told in
    private where creator commands work, so the answer never lands in a public chat."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    if context.services.settings.is_creator(user.id):
        send_text(context.session, user.id, texts.CREATOR_CHAT_ONLY)
    elif message.chat.type == "private":
        send_text(context.session, message.chat_id, texts.CREATOR_ONLY)
