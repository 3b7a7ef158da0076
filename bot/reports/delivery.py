"""Sending reports: on demand (/report) and on schedule (a persisted reminder of kind "report")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.config import Settings
from bot.kernel import asks
from bot.kernel.outbox import send_file, send_text
from bot.kernel.reminders import When, create
from bot.reports.chart import render_chart
from bot.reports.report import build_report, render_text
from bot.store.models import Reminder, utcnow

ASKS_MAX_AGE = timedelta(days=2)  # older question themes are not shown in the report


def send_report(session: Session, settings: Settings, chat_id: int, period: str, end: datetime | None = None) -> None:
    """Queue the chart as a photo with a short caption, then the full report text."""
    report = build_report(session, settings, period, end or utcnow())
    chart = render_chart(report, settings.tz)
    m = report.metrics
    caption = texts.REPORT_CAPTION.format(
        period=period, followers=_num(m["followers"].value), posts=_num(m["posts"].value),
        rate="—" if m["engagement_rate"].value is None else f"{m['engagement_rate'].value:.1f}")
    send_file(session, chat_id, chart, f"report-{period}.png", caption=caption, as_photo=True, purpose="report")
    text, buttons, quoted = render_text(report, settings.tz), None, set[int]()
    if period == "week":
        section, buttons, quoted = asks_section(session, settings)
        text += section
    send_text(session, chat_id, text, buttons=buttons or None, purpose="report", about=quoted)


def asks_section(session: Session, settings: Settings) -> tuple[str, list[list[tuple[str, str]]], set[int]]:
    """"What your audience is asking", from the latest question themes (grouped hourly off this
    transaction): the text, its buttons and the followers it quotes."""
    latest = asks.latest(session, ASKS_MAX_AGE)
    if latest is None:
        return "", [], set()
    when = f"{latest.end.astimezone(settings.tz):%d %b %H:%M}"
    lines = [texts.ASKS_REPORT_HEADER.format(when=when), *asks.section_lines(latest, limit=5)]
    return "\n".join(lines), asks.buttons(latest, limit=5), latest.quoted


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def next_report_time(settings: Settings, now: datetime) -> datetime:
    sched = settings.schedule
    local = now.astimezone(settings.tz)
    due = local.replace(hour=sched.report_clock.hour, minute=sched.report_clock.minute, second=0, microsecond=0)
    if sched.report == "weekly":
        due += timedelta(days=(sched.report_weekday_index - due.weekday()) % 7)
        if due <= local:
            due += timedelta(days=7)
    elif due <= local:
        due += timedelta(days=1)
    return due


def ensure_report_schedule(session: Session, settings: Settings, now: datetime | None = None) -> Reminder | None:
    """Keep exactly one active scheduled-report reminder that matches the config."""
    now = now or utcnow()
    chat = settings.creator_chat_id
    rows = list(session.scalars(select(Reminder).where(Reminder.kind == "report", Reminder.status == "active")))
    wanted = settings.schedule.report if chat is not None else "off"
    keep = None
    for row in rows:
        if wanted != "off" and keep is None and row.recurrence == wanted and row.chat_id == chat and \
                row.text == wanted:
            keep = row
        else:
            row.status = "cancelled"
    if wanted == "off" or chat is None:
        return None
    due = next_report_time(settings, now)
    if keep is None:
        return create(session, chat, When(due, wanted), wanted, kind="report")
    local_due = keep.due_at.astimezone(settings.tz)
    if (local_due.hour, local_due.minute) != (due.hour, due.minute) or (
            wanted == "weekly" and local_due.weekday() != due.weekday()):
        keep.due_at = due  # the configured time changed
    return keep
