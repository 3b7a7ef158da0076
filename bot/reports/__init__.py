"""Reports: the engagement report (on demand and scheduled, with its chart), /stats and /export.

`register` hands the runtime its commands, the "report" reminder kind and what keeps the schedule.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.kernel.registry import Job, Registry
from bot.kernel.services import Services
from bot.reports import handlers
from bot.reports.delivery import ensure_report_schedule, send_report
from bot.store.models import Reminder

DAY = 24 * 3600.0


def send_scheduled_report(services: Services, session: Session, row: Reminder) -> None:
    """A due "report" reminder: queue the report for its period."""
    send_report(session, services.settings, row.chat_id, "week" if row.recurrence == "weekly" else "day")


def keep_schedule(session: Session, settings: Settings) -> None:
    ensure_report_schedule(session, settings)


def register(reg: Registry) -> None:
    for name, handler in {"stats": handlers.stats, "health": handlers.health, "report": handlers.report,
                          "export": handlers.export}.items():
        reg.command(name, handler)
    reg.reminder_kind("report", send_scheduled_report)
    reg.reminder_kind(handlers.EXPORT, handlers.send_export)
    reg.settings_changed.append(keep_schedule)  # the time zone or the schedule changed in the chat
    reg.job(Job("report-schedule", handlers.keep_report_schedule, every=DAY, first=0.2, at_start=True))
