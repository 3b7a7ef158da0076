"""The one central error handler."""

from __future__ import annotations

import logging

from telegram import Update

from bot.kernel.context import BotContext
from bot.kernel.errors import notify_creator_once
from bot.kernel.unit import current_update

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log with the traceback; the creator hears about each kind of error once an hour."""
    error = context.error
    if error is None:
        return
    uid = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", uid, exc_info=error)
    state = current_update.get()
    if state is not None:
        # The update's transaction is rolled back; the processor marks it and notifies.
        state.errors.append(error)
        return
    services = context.services
    async with services.unit() as session:
        notify_creator_once(session, error, services.settings)
