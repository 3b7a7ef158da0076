"""The lock around transactions opened on the event loop.

SQLite allows one writer. A transaction opened on the event loop that waited for another
loop-side transaction (which can only finish when the loop runs again) would block the loop for
the whole busy timeout, so loop-side transactions take this lock in turn. Transactions opened in
threads (intake, sender) do not take it: they simply wait for SQLite's own lock.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class WriteLock:
    """An `asyncio.Lock` for the event loop's transactions (one per process)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()
