"""Every loop of a worker runs under a supervisor: an error is logged, reported to the health
page and (once per kind per hour) to the creator, and the loop starts again after a back-off."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.runtime.health import Health

log = logging.getLogger(__name__)

Notify = Callable[[BaseException], Awaitable[object]]


async def supervise(name: str, loop: Callable[[], Awaitable[None]], health: Health, notify: Notify,
                    max_delay: float = 10.0) -> None:
    """Run `loop()` until it returns or is cancelled, restarting it after every error."""
    delay = 0.5
    while True:
        health.started(name)
        began = time.monotonic()
        try:
            await loop()
            health.stopped(name)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() - began > 60:
                delay = 0.5  # it ran fine for a while: this is a new failure, not the same one
            log.error("%s loop failed; restarting in %.1f s", name, delay, exc_info=exc)
            health.failed(name, exc)
            try:
                await notify(exc)
            except Exception as notify_exc:  # the database may be the thing that is down
                log.warning("could not tell the creator about the %s failure: %s", name, notify_exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
