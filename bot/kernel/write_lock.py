"""The lock around transactions opened on the event loop (one per process).

The loop's transactions use a blocking driver. One that waited for a lock held by another
loop-side transaction, which can only finish when the loop runs again, would block the loop:
- on SQLite (one writer) for the whole busy timeout;
- on PostgreSQL for ever: the wait for a row lock is a cycle through the event loop that the
  server's deadlock detector cannot see. Update handlers do await while their transaction holds
  row locks (the /setup buttons call the Bot API after `ensure_report_schedule` updated the report
  reminder, which the leader's retention job also updates), so this lock is kept there too.
So loop-side transactions take this lock in turn. It costs little: a blocking driver on one
thread runs one statement at a time anyway, no model call happens under it (the processor waits
for an update's FAQ match before it opens the transaction) and it is per process, so the workers
of a fleet never wait for each other's. Transactions opened in threads (intake, sender, model
loading) do not take it: they wait for the database's own locks, which do not stop the loop.
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
