"""/report and /export for the creator, /forgetme for followers, and the retention job."""

from __future__ import annotations

import asyncio
import time

from telegram import Update

from bot import texts
from bot.config import ConfigError
from bot.faq.training import retrain_without_forgotten
from bot.kernel.context import BotContext
from bot.kernel.export import export_zip
from bot.kernel.outbox import FORGETME_PURPOSE, send_file, send_text
from bot.privacy.forget import forget_follower, purge_raw_updates
from bot.reports.delivery import ensure_report_schedule, send_report
from bot.reports.report import PERIODS
from bot.setup import checklist as setup
from bot.store.models import utcnow
from bot.store.outbox_queue import prune_paces


async def report(update: Update, context: BotContext) -> None:
    """The engagement report for a day, week (default) or month, with its chart."""
    message = update.effective_message
    assert message is not None
    args = list(context.args or ["week"])
    if args[0].lower() == "schedule":
        report_schedule(context, message.chat_id, args[1:])
        return
    period = args[0].lower()
    if period not in PERIODS:
        send_text(context.session, message.chat_id, texts.REPORT_USAGE)
        return
    send_report(context.session, context.services.settings, message.chat_id, period)


def report_schedule(context: BotContext, chat_id: int, words: list[str]) -> None:
    """`/report schedule [weekly mon 09:00 | daily 18:00 | off]`: show or change the schedule setting."""
    session, services = context.session, context.services
    if words:
        try:
            setup.change_settings(services, session, setup.parse_report_schedule(words))
        except (ValueError, ConfigError) as exc:
            send_text(session, chat_id, texts.SCHEDULE_USAGE.format(error=texts.esc(str(exc))))
            return
    settings = services.settings
    send_text(session, chat_id, (texts.SCHEDULE_SET if words else texts.SCHEDULE_NOW).format(
        when=setup.report_schedule_text(settings), tz=texts.esc(settings.schedule.timezone)))


async def export(update: Update, context: BotContext) -> None:
    """Everything stored, as zipped CSV files."""
    message = update.effective_message
    assert message is not None
    data = export_zip(context.session)
    send_file(context.session, message.chat_id, data, f"creatorbot-export-{utcnow():%Y%m%d}.zip",
              caption=texts.EXPORT_CAPTION, purpose="export")


async def forgetme(update: Update, context: BotContext) -> None:
    """Delete what the bot stored about this follower."""
    message = update.effective_message
    assert message is not None and message.from_user is not None
    services = context.services
    user_id = message.from_user.id
    removed = await asyncio.to_thread(forget_follower, context.session, user_id, services.settings.data_dir)
    services.follower_limits.forget(user_id)
    send_text(context.session, message.chat_id, texts.FORGETME_DONE, purpose=FORGETME_PURPOSE)
    if removed["learned_examples"]:
        retrain_without_forgotten(services)


async def retention(context: BotContext) -> None:
    """Job (daily): purge raw updates past the retention period; keep the report schedule in sync."""
    services = context.services
    async with services.unit() as session:
        purge_raw_updates(session, services.settings.database.retention_days)
        prune_paces(session, time.time() - 60)  # chats nothing was sent to lately
        ensure_report_schedule(session, services.settings)
