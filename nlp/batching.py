"""A micro-batcher: texts that arrive together are run through a model in one call.

`await batcher.submit(item)` from any number of concurrent tasks: the first item after a quiet
spell waits at most `max_wait` seconds for company, then up to `max_batch` items go to `fn` in one
call on a worker thread (the event loop stays free). Items arriving while a batch runs form the next
batch at once, without waiting: under load the batches grow by themselves, a lone item is delayed by
`max_wait` at most. Results come back to each caller in order. If `fn` raises on a batch, each of its
items is run again on its own, so one item the model cannot take (a poison text) fails its own caller
only and the others get their results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def add(self, size: int) -> None:
        self.batches += 1
        self.items += size
        self.largest = max(self.largest, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1


class MicroBatcher(Generic[T, R]):
    """Collects items submitted together and runs `fn(items) -> results` once per batch."""

    def __init__(self, fn: Callable[[list[T]], Sequence[R]], max_batch: int = 64, max_wait: float = 0.002) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.fn = fn
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.stats = BatchStats()
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run())
        return await future

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Several items from one caller (they may share a batch with others' items)."""
        return list(await asyncio.gather(*(self.submit(item) for item in items)))

    async def _run(self) -> None:
        waited = False
        while self._pending:
            if not waited and len(self._pending) < self.max_batch and self.max_wait > 0:
                await asyncio.sleep(self.max_wait)  # the first item after a quiet spell waits for company
            waited = True
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            live = [(item, f) for item, f in batch if not f.cancelled()]
            if not live:
                continue
            self.stats.add(len(live))
            outcomes = await asyncio.to_thread(self._outcomes, [item for item, _ in live])
            for (_, f), (result, error) in zip(live, outcomes, strict=True):
                if f.done():
                    continue
                if error is not None:
                    f.set_exception(error)
                else:
                    f.set_result(result)  # type: ignore[arg-type]

    def _outcomes(self, items: list[T]) -> list[tuple[R | None, Exception | None]]:
        """(result, error) of each item: the batch in one call, or, when that fails, each item alone."""
        try:
            return [(r, None) for r in self._call(items)]
        except Exception as exc:
            if len(items) == 1:
                return [(None, exc)]
        out: list[tuple[R | None, Exception | None]] = []
        for item in items:
            try:
                out.append((self._call([item])[0], None))
            except Exception as exc:
                out.append((None, exc))
        return out

    def _call(self, items: list[T]) -> Sequence[R]:
        results = self.fn(items)
        if len(results) != len(items):
            raise RuntimeError(f"batch of {len(items)} gave {len(results)} results")
        return results
