"""The FAQ heads' memory budget: least recently used heads are dropped, the one in use never for itself."""

from __future__ import annotations

import numpy as np

from nlp.heads import HeadBudget, footprint


class Owner:
    def __init__(self, name: str) -> None:
        self.name, self.evicted = name, 0

    def evict(self) -> None:
        self.evicted += 1


def test_past_the_budget_the_least_recently_used_heads_are_dropped() -> None:
    budget = HeadBudget(250)
    a, b, c = Owner("a"), Owner("b"), Owner("c")
    budget.used(a, 100)
    budget.used(b, 100)
    budget.used(a, 100)  # a is now the more recent
    budget.used(c, 100)  # 300 > 250: b goes, not a
    assert (a.evicted, b.evicted, c.evicted) == (0, 1, 0)
    assert budget.loaded_bytes() == 200 and len(budget) == 2
    budget.used(b, 100)  # b loaded again: the least recent (a) goes
    assert a.evicted == 1 and budget.loaded_bytes() == 200


def test_a_head_larger_than_the_budget_stays_while_it_is_the_only_one() -> None:
    budget = HeadBudget(50)
    a, b = Owner("a"), Owner("b")
    budget.used(a, 100)
    assert a.evicted == 0 and len(budget) == 1
    budget.used(b, 100)
    assert (a.evicted, b.evicted) == (1, 0)


def test_no_budget_keeps_every_head_and_dropped_frees_the_bytes() -> None:
    budget = HeadBudget(0)
    owners = [Owner(str(i)) for i in range(50)]
    for owner in owners:
        budget.used(owner, 10**6)
    assert not any(o.evicted for o in owners) and budget.loaded_bytes() == 50 * 10**6
    budget.dropped(owners[0])
    assert budget.loaded_bytes() == 49 * 10**6 and len(budget) == 49


class Part:  # a class of this library's own is followed; here one made to look like one
    __module__ = "nlp.fake"

    def __init__(self, shared: object) -> None:
        self.encoder = shared
        self.table = np.zeros(1000, dtype=np.float64)
        self.views = [np.zeros(100, dtype=np.float32), np.zeros(100, dtype=np.float32)[:10]]


def test_footprint_counts_the_arrays_a_head_holds_but_not_the_shared_encoder() -> None:
    encoder = Part(None)
    encoder.table = np.zeros(10**6)
    head = Part(encoder)
    size = footprint(head, [encoder])
    assert 8000 + 800 <= size < 20_000  # its own arrays, counted once (the slice is a view of a counted one)
    assert footprint(head) > 8 * 10**6  # the encoder's 8 MB, when it is not named as shared
