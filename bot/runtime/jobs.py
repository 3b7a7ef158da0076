"""Scheduled jobs (PTB's JobQueue): the kernel's and every job a feature registered.

Every worker of a fleet schedules the same jobs, but only the one holding the scheduler role
(`is_leader`) runs those that must happen once (`Job.leader_only`); each of those is idempotent too
(reminders are claimed row by row). Jobs such as reloading the FAQ model run on every worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.ext import Application

from bot.kernel.context import BotContext
from bot.kernel.live_settings import refresh_settings
from bot.kernel.registry import Job, JobCallback
from bot.kernel.reminders import deliver_reminders
from bot.kernel.services import Services

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
LATE_IS_FINE = {"misfire_grace_time": None}  # a start-up job runs even when a busy start delays it
SETTINGS_RELOAD_SECONDS = 15.0


async def reload_settings(context: BotContext) -> None:
    """Job: pick up settings another worker changed in the chat."""
    services = context.services
    with services.sessions() as session:
        refresh_settings(services, session)


KERNEL_JOBS = (
    Job("settings-reload", reload_settings, every=SETTINGS_RELOAD_SECONDS, first=SETTINGS_RELOAD_SECONDS,
        leader_only=False),
    Job("reminders", deliver_reminders, every=20.0, first=0.5),
)


def leader_only(job: JobCallback, is_leader: Callable[[], bool]) -> JobCallback:
    """`job`, run only on the worker that holds the scheduler role."""

    async def run(context: BotContext) -> None:
        if is_leader():
            await job(context)

    run.__name__ = run.__qualname__ = job.__name__
    return run


def schedule_jobs(application: AnyApplication, services: Services, is_leader: Callable[[], bool]) -> None:
    jq = application.job_queue
    if jq is None:
        return
    settings = services.settings
    for job in (*KERNEL_JOBS, *services.registry.jobs):
        if not job.enabled(settings):
            continue
        callback = leader_only(job.callback, is_leader) if job.leader_only else job.callback
        if job.daily is not None:
            jq.run_daily(callback, time=job.daily(settings).replace(tzinfo=settings.tz), name=job.name)
            if job.at_start:
                jq.run_once(callback, when=1.0, name=f"{job.name}-at-start", job_kwargs=LATE_IS_FINE)
        elif job.every is not None:
            jq.run_repeating(callback, interval=job.every, first=job.first, name=job.name,
                             job_kwargs=LATE_IS_FINE if job.at_start else None)
