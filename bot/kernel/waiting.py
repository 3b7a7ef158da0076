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


async def off_loop(in_process: bool, work: Callable[[], T], lock: Any = None) -> T:
    """A short database call from the event loop: run in place when the database lives in this process
    (SQLite answers in a fraction of a millisecond, less than the hand-off to a thread and back costs), in a
    thread when it is a server across the network (PostgreSQL), whose round trip must not hold the loop.

    In place it first takes `lock`, the loop's write lock (bot/kernel/write_lock.py): a transaction of the loop
    that waits on an `await` may hold SQLite's write lock, and a call that blocked the loop waiting for it
    would wait for good ("database is locked")."""
    if not in_process:
        return await asyncio.to_thread(work)
    if lock is None:
        return work()
    async with lock:
        return work()


async def in_daemon_thread(work: Callable[[], T], name: str = "model-load") -> T:
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

    threading.Thread(target=run, daemon=True, name=name).start()
    return await future


class IdlePolls:
    """How long a polling loop waits for its wake-up when it found nothing: `base` while work is waiting (due
    later: a retry, a chat's pace), doubling up to `cap` while none is. Work this process stores wakes the loop at
    once; the longer waits only spare the database the polls of a creator with nothing to do (a hundred idle
    creators in one process)."""

    def __init__(self, base: float, cap: float) -> None:
        self.base, self.cap, self.current = base, cap, base

    def next(self, worked: bool, waiting: bool) -> float:
        self.current = self.base if worked or waiting else min(self.cap, self.current * 2)
        return self.current
