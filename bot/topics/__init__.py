"""Topics: what to post next (the tag-interest recommender), when (the audience's activity), posting
reminders, A/B comparisons, soft tags for posts without hashtags, and what the audience is asking (/asks,
the hourly question themes) and the weekly plan.

`register` hands the runtime its commands, buttons and jobs.
"""

from __future__ import annotations

import datetime as dt

from bot.kernel import buttons
from bot.kernel.context import BotContext
from bot.kernel.registry import Job, Registry
from bot.topics import asks, handlers
from bot.topics.auto_reminder import schedule_auto_reminder
from bot.topics.soft_tags import tag_untagged_posts

SOFT_TAG_SECONDS = 60.0
ASKS_SECONDS = 3600.0  # the weekly report and /suggest read the latest question themes


async def auto_reminder(context: BotContext) -> None:
    """Job (daily, when enabled): a reminder at today's best slot with the top suggested topic."""
    await schedule_auto_reminder(context.services)


async def soft_tag_posts(context: BotContext) -> None:
    """Job: soft tags for posts without hashtags, so /suggest and the reports count them."""
    await tag_untagged_posts(context.services)


async def ask_themes(context: BotContext) -> None:
    """Job (hourly): group the week's follower questions into themes and store the snapshot."""
    await asks.refresh(context.services)


def register(reg: Registry) -> None:
    for name, handler in {"suggest": handlers.suggest, "besttime": handlers.besttime, "remind": handlers.remind,
                          "reminders": handlers.list_reminders, "abtest": handlers.abtest}.items():
        reg.command(name, handler)
    reg.callback(buttons.REMINDER_CANCEL, handlers.cancel_reminder)
    reg.job(Job("soft-tags", soft_tag_posts, every=SOFT_TAG_SECONDS, first=SOFT_TAG_SECONDS))
    reg.job(Job("auto-reminder", auto_reminder, daily=lambda s: dt.time(0, 10),
                enabled=lambda s: s.recsys.auto_reminders))
    reg.command("asks", handlers.asks)
    reg.command("plan", handlers.plan)
    reg.job(Job("ask-themes", ask_themes, every=ASKS_SECONDS, first=30.0))
