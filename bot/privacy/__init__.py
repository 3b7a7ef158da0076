"""Privacy: /forgetme (every copy of a follower's data, by their ids) and the retention of raw updates.

`register` hands the runtime the command and the daily retention job.
"""

from __future__ import annotations

from bot.kernel.registry import Job, Registry
from bot.privacy import handlers

DAY = 24 * 3600.0


def register(reg: Registry) -> None:
    reg.private_command("forgetme", handlers.forgetme)
    reg.forget_person = handlers.forget_person  # the creator's "forget this person" (bot/inbox)
    reg.job(Job("retention", handlers.retention, every=DAY, first=0.2, at_start=True))
