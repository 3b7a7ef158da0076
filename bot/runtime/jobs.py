"""Scheduled jobs (PTB's JobQueue): member counts, FAQ reloads and retrains, reminders, retention.

Every worker of a fleet schedules the same jobs, but only the one holding the scheduler role
(`is_leader`) runs those that must happen once: member counts, retrains, reminders, reports,
retention. Each of those is idempotent too (reminders are claimed row by row). Reloading the FAQ
model runs on every worker, so all of them switch to a new version within seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.ext import Application

from bot.channel import handlers as channel
from bot.config import Settings
from bot.faq import handlers as faq_handlers
from bot.faq.service import examples_since
from bot.faq.training import start_retrain
from bot.kernel.context import BotContext
from bot.reports import handlers as reports
from bot.setup.checklist import refresh_settings
from bot.topics import handlers as topics
from bot.topics.auto_reminder import schedule_auto_reminder
from bot.topics.soft_tags import tag_untagged_posts

log = logging.getLogger(__name__)
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
DIGEST_INTERVAL = 10.0  # seconds between looks for questions waiting for a digest


Job = Callable[[BotContext], Coroutine[Any, Any, None]]
FAQ_RELOAD_SECONDS = 5.0
SOFT_TAG_SECONDS = 60.0
LATE_IS_FINE = {"misfire_grace_time": None}  # a start-up job runs even when a busy start delays it


def leader_only(job: Job, is_leader: Callable[[], bool]) -> Job:
    """`job`, run only on the worker that holds the scheduler role."""

    async def run(context: BotContext) -> None:
        if is_leader():
            await job(context)

    run.__name__ = run.__qualname__ = job.__name__
    return run


def schedule_jobs(application: AnyApplication, settings: Settings,
                  is_leader: Callable[[], bool] = lambda: True) -> None:
    schedule_member_count(application, settings, is_leader)
    schedule_faq_jobs(application, settings, is_leader)
    schedule_topic_jobs(application, settings, is_leader)


def schedule_member_count(application: AnyApplication, settings: Settings, is_leader: Callable[[], bool]) -> None:
    jq = application.job_queue
    if jq is None:  # the channel may be set later, in the chat: the job reads the live settings
        return
    snapshot = leader_only(channel.snapshot_member_count, is_leader)
    jq.run_daily(snapshot, time=settings.schedule.member_count_clock.replace(tzinfo=settings.tz), name="member-count")
    jq.run_once(snapshot, when=1.0, name="member-count-at-start", job_kwargs=LATE_IS_FINE)


async def reload_faq_model(context: BotContext) -> None:
    """Job: switch to the FAQ version published in the database (by any worker's /retrain, the nightly
    retrain or `creatorbot faq train`)."""
    model = context.services.faq_model
    if model is None:
        return
    try:
        await asyncio.to_thread(model.reload_if_changed)
    except SQLAlchemyError as exc:  # the database is away: keep answering with the live version
        log.warning("cannot read the published FAQ version (%s); keeping %s", type(exc).__name__, model.version)


async def reload_settings(context: BotContext) -> None:
    """Job: pick up settings another worker changed in the chat."""
    services = context.services
    with services.sessions() as session:
        refresh_settings(services, session)


async def nightly_retrain(context: BotContext) -> None:
    """Job: retrain when new examples were learned since the live version."""
    services = context.services
    model = services.faq_model
    if model is None:
        return
    trained_at = model.matcher.meta.trained_at if model.matcher else 0.0
    with services.sessions() as session:
        new = examples_since(session, trained_at)
    if new:
        start_retrain(services, services.settings.creator_chat_id)


def schedule_faq_jobs(application: AnyApplication, settings: Settings, is_leader: Callable[[], bool]) -> None:
    jq = application.job_queue
    if jq is None:
        return
    jq.run_repeating(reload_faq_model, interval=FAQ_RELOAD_SECONDS, first=FAQ_RELOAD_SECONDS, name="faq-reload")
    jq.run_repeating(reload_settings, interval=15.0, first=15.0, name="settings-reload")
    jq.run_repeating(leader_only(faq_handlers.handoff_digest, is_leader), interval=DIGEST_INTERVAL, first=2.0, name="handoff-digest")
    jq.run_daily(leader_only(nightly_retrain, is_leader), time=settings.faq.retrain_clock.replace(tzinfo=settings.tz),
                 name="faq-nightly-retrain")


def schedule_topic_jobs(application: AnyApplication, settings: Settings, is_leader: Callable[[], bool]) -> None:
    jq = application.job_queue
    if jq is None:
        return
    jq.run_repeating(leader_only(topics.deliver_reminders, is_leader), interval=20.0, first=0.5, name="reminders")
    jq.run_repeating(leader_only(reports.retention, is_leader), interval=24 * 3600.0, first=0.2,
                     name="retention-and-report-schedule", job_kwargs=LATE_IS_FINE)
    jq.run_repeating(leader_only(soft_tag_posts, is_leader), interval=SOFT_TAG_SECONDS, first=SOFT_TAG_SECONDS,
                     name="soft-tags")
    if settings.recsys.auto_reminders:
        jq.run_daily(leader_only(auto_reminder, is_leader), time=dt.time(0, 10, tzinfo=settings.tz), name="auto-reminder")


async def auto_reminder(context: BotContext) -> None:
    """Job (daily, when enabled): a reminder at today's best slot with the top suggested topic."""
    await schedule_auto_reminder(context.services)


async def soft_tag_posts(context: BotContext) -> None:
    """Job: soft tags for posts without hashtags, so /suggest and the reports count them."""
    await tag_untagged_posts(context.services)
