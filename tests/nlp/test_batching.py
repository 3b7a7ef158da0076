"""The micro-batcher: texts that arrive together share one model call; a lone text is not held up."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from nlp.batching import MicroBatcher


class Recorder:
    """A stand-in model: records each call's batch, returns the items upper-cased."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[str]] = []
        self.delay = delay
        self.threads: set[int] = set()

    def __call__(self, items: list[str]) -> list[str]:
        self.calls.append(list(items))
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        return [i.upper() for i in items]


async def test_items_that_arrive_together_share_one_call_and_each_caller_gets_its_own_result() -> None:
    model = Recorder()
    batcher = MicroBatcher(model, max_batch=64, max_wait=0.05)
    words = [f"w{i}" for i in range(10)]
    results = await asyncio.gather(*(batcher.submit(w) for w in words))
    assert results == [w.upper() for w in words]
    assert model.calls == [words]
    assert threading.get_ident() not in model.threads  # the model ran off the event loop


async def test_a_lone_item_waits_at_most_max_wait() -> None:
    model = Recorder()
    batcher = MicroBatcher(model, max_batch=64, max_wait=0.005)
    await batcher.submit("warm")  # the thread pool exists now
    start = time.perf_counter()
    assert await batcher.submit("alone") == "ALONE"
    assert time.perf_counter() - start < 0.1
    assert model.calls[-1] == ["alone"]


async def test_batches_never_exceed_max_batch_and_keep_order() -> None:
    model = Recorder()
    batcher = MicroBatcher(model, max_batch=16, max_wait=0.01)
    words = [f"w{i}" for i in range(150)]
    assert await batcher.submit_many(words) == [w.upper() for w in words]
    assert max(len(c) for c in model.calls) == 16
    assert [w for c in model.calls for w in c] == words
    assert batcher.stats.items == 150 and batcher.stats.largest == 16


async def test_items_arriving_during_a_batch_form_the_next_batch_without_waiting() -> None:
    release = threading.Event()
    calls: list[list[str]] = []

    def blocking(items: list[str]) -> list[str]:
        calls.append(items)
        if len(calls) == 1:
            release.wait(5)
        return items

    batcher = MicroBatcher(blocking, max_batch=64, max_wait=0.001)
    first = asyncio.ensure_future(batcher.submit("first"))
    while not calls:
        await asyncio.sleep(0.001)
    later = [asyncio.ensure_future(batcher.submit(f"later{i}")) for i in range(5)]
    await asyncio.sleep(0.01)
    batcher.max_wait = 10.0  # the next batch must not wait for company: it has waited already
    release.set()
    done = await asyncio.wait_for(asyncio.gather(first, *later), 2.0)
    assert done == ["first", *[f"later{i}" for i in range(5)]]
    assert calls == [["first"], [f"later{i}" for i in range(5)]]


async def test_one_poison_item_fails_its_own_caller_only_and_the_others_get_their_results() -> None:
    calls: list[list[str]] = []

    def poisoned(items: list[str]) -> list[str]:
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("model broke")
        return [i.upper() for i in items]

    batcher = MicroBatcher(poisoned, max_batch=64, max_wait=0.01)
    results = await asyncio.gather(batcher.submit("ok"), batcher.submit("bad"), batcher.submit("also"),
                                   return_exceptions=True)
    assert results[0] == "OK" and results[2] == "ALSO"
    assert isinstance(results[1], ValueError)
    assert calls == [["ok", "bad", "also"], ["ok"], ["bad"], ["also"]]  # the batch, then each alone
    assert await batcher.submit("fine") == "FINE"


async def test_a_wrong_number_of_results_is_an_error_not_a_silent_mismatch() -> None:
    batcher = MicroBatcher(lambda items: items[:-1], max_batch=64, max_wait=0.01)
    with pytest.raises(RuntimeError, match="gave"):
        await asyncio.gather(batcher.submit("a"), batcher.submit("b"))


async def test_the_event_loop_stays_free_while_a_batch_runs() -> None:
    batcher = MicroBatcher(Recorder(delay=0.2), max_batch=8, max_wait=0.0)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    await batcher.submit("slow")
    ticker.cancel()
    assert ticks >= 5


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(lambda items: items, max_batch=0)
