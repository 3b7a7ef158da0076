"""/report, /export and /stats for the creator, and the job that keeps the report schedule."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
from bot.store.outbox_queue import OUTBOX, outbox_depth
from bot.store.queue import PENDING
from bot.store.updates import UPDATES, queue_depth

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


async def health(update: Update, context: BotContext) -> None:
    """/health: what is waiting and what was set aside for good (dead letters), with the reasons."""
    message = update.effective_message
    assert message is not None
    send_text(context.session, message.chat_id, health_text(context.session, context.services.settings.tz))


def health_text(session: Session, tz: Any, limit: int = 5) -> str:
    pending, age = queue_depth(session)
    dead_updates, updates = UPDATES.dead_letters(session, limit)
    dead_outbox, rows = OUTBOX.dead_letters(session, limit)
    lines = [texts.HEALTH.format(updates=pending, age=_age(age), outbox=outbox_depth(session).get(PENDING, 0),
                                 dead_updates=dead_updates, dead_outbox=dead_outbox)]
    if updates:
        lines.append(texts.HEALTH_DEAD_UPDATES)
        lines += [texts.HEALTH_DEAD_UPDATE.format(id=u.update_id, kind=texts.esc(u.kind), when=_when(u.received_at, tz),
                                                  reason=texts.esc(texts.clip(u.error or "?", 200))) for u in updates]
    if rows:
        lines.append(texts.HEALTH_DEAD_OUTBOX)
        lines += [texts.HEALTH_DEAD_MESSAGE.format(chat=r.chat_id, purpose=texts.esc(r.purpose),
                                                   when=_when(r.created_at, tz),
                                                   reason=texts.esc(texts.clip(r.last_error or "?", 200))) for r in rows]
    if not updates and not rows:
        lines.append(texts.HEALTH_ALL_WELL)
    return "\n".join(lines)


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.0f} h"


def _when(at: datetime, tz: Any) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).strftime("%d %b %H:%M")


async def keep_report_schedule(context: BotContext) -> None:
    """Job (daily, and at start-up): the scheduled report's reminder matches the live settings."""
    services = context.services
    async with services.unit() as session:
        ensure_report_schedule(session, services.settings)
