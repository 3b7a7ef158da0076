"""How often a follower can make the bot answer: one sliding window per follower, pruned."""

from __future__ import annotations

from collections import OrderedDict, deque

WINDOW = 60.0


class FollowerLimiter:
    """Counts what each follower triggers (messages, commands, button presses) in the last minute.

    `check` says "ok", "crossed" (just went over: say "slow down" once) or "over" (stay quiet).
    Pure: the time is passed in. At most `max_people` windows are kept (least recently active
    dropped), and a window holds at most `per_minute + 1` times.
    """

    def __init__(self, per_minute: int, max_people: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_people = max_people
        self._windows: OrderedDict[int, deque[float]] = OrderedDict()

    def check(self, user_id: int, now: float) -> str:
        window = self._windows.pop(user_id, None) or deque()
        while window and window[0] <= now - WINDOW:
            window.popleft()
        window.append(now)
        while len(window) > self.per_minute + 2:
            window.popleft()
        self._windows[user_id] = window  # most recently active last
        while len(self._windows) > self.max_people:
            self._windows.popitem(last=False)
        if len(window) <= self.per_minute:
            return "ok"
        return "crossed" if len(window) == self.per_minute + 1 else "over"

    def room(self, user_id: int, now: float) -> int:
        """How many more times the follower may make the bot answer right now (nothing is counted)."""
        window = self._windows.get(user_id, ())
        return max(0, self.per_minute - sum(1 for t in window if t > now - WINDOW))

    def forget(self, user_id: int) -> None:
        self._windows.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._windows)
