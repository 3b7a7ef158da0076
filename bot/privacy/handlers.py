"""/forgetme for followers, and the retention job."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.orm import Session
from telegram import Update

from bot import texts
from bot.kernel.context import BotContext
from bot.kernel.export import recorded_exports
from bot.kernel.outbox import FORGETME_PURPOSE, send_text
from bot.kernel.services import Services
from bot.privacy.forget import forget_follower, purge_raw_updates
from bot.store.outbox_queue import prune_paces


async def forgetme(update: Update, context: BotContext) -> None:
    """Delete what the bot stored about this follower."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    services = context.services
    await forget_person(services, context.session, message.from_user.id)
    send_text(context.session, message.chat_id, texts.FORGETME_DONE, purpose=FORGETME_PURPOSE)


async def forget_person(services: Services, session: Session, user_id: int) -> dict[str, int]:
    """Everything about one person, from every inbox (/forgetme, or the creator's "forget this person")."""
    removed = await asyncio.to_thread(forget_follower, session, user_id, services.settings.data_dir)
    services.follower_limits.forget(user_id)
    _, elsewhere = await asyncio.to_thread(recorded_exports, session, services.settings.data_dir)
    creator_chat = services.settings.creator_chat_id
    if elsewhere and creator_chat is not None:  # CLI exports outside the data folder: by hand
        send_text(session, creator_chat, texts.FORGET_EXPORTS_ELSEWHERE.format(
            paths="\n".join(f"• <code>{texts.esc(str(p))}</code>" for p in elsewhere)))
    for react in services.registry.after_forget:  # e.g. the FAQ retrains without their questions
        react(services, removed)
    return removed


async def retention(context: BotContext) -> None:
    """Job (daily): purge raw updates past the retention period and the pace of chats gone quiet."""
    services = context.services
    async with services.unit() as session:
        purge_raw_updates(session, services.settings.database.retention_days)
        prune_paces(session, time.time() - 60)  # chats nothing was sent to lately
