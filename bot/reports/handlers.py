"""/report, /export and /stats for the creator, and the job that keeps the report schedule."""
from __future__ import annotations

from sqlalchemy.orm import Session
from telegram import Update

from bot import texts
from bot.config import ConfigError
from bot.kernel import reminders
from bot.kernel.context import BotContext
from bot.kernel.export import export_zip
from bot.kernel.live_settings import change_settings, parse_report_schedule, report_schedule_text
from bot.kernel.outbox import send_file, send_text
from bot.kernel.services import Services
from bot.kernel.stats import stored_counts
from bot.reports.delivery import ensure_report_schedule, send_report
from bot.reports.report import PERIODS
from bot.store.models import Reminder, utcnow

EXPORT = "export"  # the reminder kind that builds an export


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
            change_settings(services, session, parse_report_schedule(words))
        except (ValueError, ConfigError) as exc:
            send_text(session, chat_id, texts.SCHEDULE_USAGE.format(error=texts.esc(str(exc))))
            return
    settings = services.settings
    send_text(session, chat_id, (texts.SCHEDULE_SET if words else texts.SCHEDULE_NOW).format(
        when=report_schedule_text(settings), tz=texts.esc(settings.schedule.timezone)))


async def export(update: Update, context: BotContext) -> None:
    """Everything stored, as zipped CSV files."""
    message = update.effective_message
    assert message is not None
    reminders.run_now(context.session, message.chat_id, EXPORT)  # built by the reminder job, off this transaction
    send_text(context.session, message.chat_id, texts.EXPORT_PREPARING)
    if context.job_queue is not None:  # soon rather than at the job's next round
        context.job_queue.run_once(reminders.deliver_reminders, 1.0)  # type: ignore[arg-type]


def send_export(services: Services, session: Session, row: Reminder) -> None:
    """The export job: everything stored, as zipped CSV files, to the chat that asked."""
    send_file(session, row.chat_id, export_zip(session), f"creatorbot-export-{utcnow():%Y%m%d}.zip",
              caption=texts.EXPORT_CAPTION, purpose="export")


async def stats(update: Update, context: BotContext) -> None:
    """Show what is stored so far."""
    message = update.effective_message
    assert message is not None
    counts = stored_counts(context.session)
    send_text(context.session, message.chat_id, texts.STATS.format(**counts.as_dict()))


async def keep_report_schedule(context: BotContext) -> None:
    """Job (daily, and at start-up): the scheduled report's reminder matches the live settings."""
    services = context.services
    async with services.unit() as session:
        ensure_report_schedule(session, services.settings)
