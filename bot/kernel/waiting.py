"""Waiting without surprises: on an event with a timeout, and on a blocking call in a daemon thread.

`asyncio.wait_for` on Python 3.11 can lose a cancellation that arrives as the awaited event fires,
which leaves a background loop running after `stop()`; `asyncio.timeout` does not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """True if `event` was set within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def in_daemon_thread(work: Callable[[], T]) -> T:
    """`await` a blocking call in a daemon thread: unlike `asyncio.to_thread`, a process that is
    told to stop does not wait for it (a model that is still loading)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if not future.done():
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

    def run() -> None:
        try:
            result, error = work(), None
        except BaseException as exc:
            result, error = None, exc
        with suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, daemon=True, name="model-load").start()
    return await future
