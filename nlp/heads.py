"""Loaded FAQ heads within a memory budget, shared by every creator of a process.

The encoders are loaded once for everybody; what each creator adds is their own FAQ head (about 5 MB for the
demo FAQ in both languages: example embeddings, calibration and the lexical re-ranker's tables). `HeadBudget`
keeps the heads in the order they were last used and, when the loaded ones together pass the budget, tells the
least recently used owners to drop theirs (`evict`); an owner loads its head again on its next question (a
load is about 13 ms for the demo FAQ). The head an owner is using is never the one evicted for its own sake.

An owner is anything with an `evict()` that drops its reference without taking a lock (eviction runs inside
another owner's `used`); a reader that still holds the head keeps using it until it lets go.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

MB = 1 << 20


class Evictable(Protocol):
    def evict(self) -> None:
        """Drop the loaded head (no lock may be taken here)."""


class HeadBudget:
    """`used(owner, size)` each time an owner uses its head; `dropped(owner)` when it let go by itself.

    `budget_bytes` 0 keeps every head loaded."""

    def __init__(self, budget_bytes: int = 0) -> None:
        self.budget = max(0, budget_bytes)
        self._sizes: OrderedDict[int, tuple[Evictable, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()
        self.evictions = 0

    def used(self, owner: Evictable, size: int) -> None:
        key = id(owner)
        evicted: list[Evictable] = []
        with self._lock:
            known = self._sizes.get(key)
            if known is not None and known[1] == size:
                self._sizes.move_to_end(key)
                return
            if known is not None:
                self._total -= known[1]
            self._sizes[key] = (owner, size)
            self._sizes.move_to_end(key)
            self._total += size
            while self.budget and self._total > self.budget and len(self._sizes) > 1:
                _, (lru, lru_size) = self._sizes.popitem(last=False)
                self._total -= lru_size
                evicted.append(lru)
            self.evictions += len(evicted)
        for lru in evicted:
            lru.evict()

    def dropped(self, owner: Evictable) -> None:
        with self._lock:
            known = self._sizes.pop(id(owner), None)
            if known is not None:
                self._total -= known[1]

    def loaded_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return len(self._sizes)


_LEAVES = (str, bytes, int, float, bool, type(None))


def footprint(root: Any, shared: Iterable[Any] = ()) -> int:
    """Bytes held by `root` and what it alone reaches: numpy arrays (their buffers), containers, strings and the
    attributes of objects of this library's classes; `shared` objects (the encoders) and everything else are not
    followed. An estimate for the budget, not an exact count."""
    seen = {id(s) for s in shared}
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes if obj.base is None else sys.getsizeof(obj)
            if obj.base is not None:
                stack.append(obj.base)
            if obj.dtype == object:
                stack.extend(obj.ravel().tolist())
            continue
        total += sys.getsizeof(obj)
        if isinstance(obj, _LEAVES):
            continue
        if isinstance(obj, dict | list | tuple | set | frozenset):
            stack.extend(gc.get_referents(obj))
        elif type(obj).__module__.startswith("nlp."):
            stack.extend(gc.get_referents(obj))
            attrs = getattr(obj, "__dict__", None)
            if attrs is not None:
                stack.append(attrs)
    return total
