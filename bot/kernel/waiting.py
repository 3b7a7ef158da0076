"""Waiting on an event with a timeout without swallowing cancellation.

`asyncio.wait_for` on Python 3.11 can lose a cancellation that arrives as the awaited event fires,
which leaves a background loop running after `stop()`; `asyncio.timeout` does not.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """True if `event` was set within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
