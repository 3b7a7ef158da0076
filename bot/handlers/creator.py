"""Creator commands (gated to the configured creator ids)."""

from __future__ import annotations

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.services.outbox import send_text
from bot.services.stats import stored_counts


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
    """Anyone but the creator using a creator command gets a polite refusal."""
    message = update.effective_message
    if message is not None:
        send_text(context.session, message.chat_id, texts.CREATOR_ONLY)
