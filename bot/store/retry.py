"""One retry policy for everything the bot owes someone: stored updates (the processor), outbox rows (the
sender) and due reminders (bot/kernel/reminders.py) decide what a failure means through `RetryPolicy.after`;
`WorkQueue.fail` applies the verdict to the queues. The FAQ's training runs under the fleet's training lock
(bot/faq/model.py): a lock that ran out stops it before it publishes or deletes anything.

A failure is one of three kinds:
- `PERMANENT`: it will fail the same way again (Telegram's 400 and 403, a row that cannot become a call):
  dead-lettered at once, with the reason;
- `PASSING`: the world is away for now (the network, Telegram's 5xx, a 429 with `retry_after`): retried
  without counting an attempt, with back-off by the row's age, for `patience` from the row's creation; then
  dead-lettered with the last error;
- `FAILED`: anything else (a bug, a row a handler cannot take): counted, retried with a growing delay, and
  dead-lettered after `max_attempts`.

A database that is away is none of these: the worker backs off as a whole (bot/runtime/supervision.py) and the
row's lease brings it back, uncounted. A dead letter never holds up what comes after it: a dead row is no longer
pending, so the chat's next row is claimed (bot/store/outbox_queue.py, bot/store/updates.py). The creator sees
dead letters, with their reasons, in /health.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DataError, IntegrityError

from bot.store.failures import is_transient

PERMANENT, PASSING, FAILED = "permanent", "passing", "failed"


@dataclass(frozen=True)
class Verdict:
    dead: bool
    delay: timedelta = timedelta(0)
    counts: bool = True  # an attempt toward `max_attempts`
    why: str = ""  # for a dead letter: why it was given up


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # counted failures before a dead letter
    patience: timedelta  # passing failures are retried this long from the row's creation
    first_delay: float = 0.5  # seconds: a counted failure's first delay, doubling
    passing_first: float = 0.5  # seconds: the shortest wait after a passing failure
    max_delay: float = 300.0

    def after(self, kind: str, attempts: int, age: timedelta, retry_after: float | None = None) -> Verdict:
        """What to do with a row whose work failed for the `attempts`-th time so far (counted ones), `age`
        after it was created."""
        if kind == PERMANENT:
            return Verdict(dead=True, why="it cannot succeed")
        if kind == PASSING:
            if age > self.patience:
                return Verdict(dead=True, counts=False, why=f"still failing after {_span(self.patience)}")
            seconds = retry_after if retry_after is not None else \
                min(self.max_delay, max(self.passing_first, age.total_seconds() / 10))
            return Verdict(dead=False, delay=timedelta(seconds=seconds), counts=False)
        if attempts + 1 >= self.max_attempts:
            return Verdict(dead=True, why=f"failed {self.max_attempts} times")
        return Verdict(dead=False, delay=timedelta(seconds=min(self.max_delay, self.first_delay * 2 ** (attempts + 1))))


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


# Updates: a handler that fails three times is a bug the creator hears about; Telegram being away delays a
# follower's question for up to an hour before it counts.
UPDATES_POLICY = RetryPolicy(max_attempts=3, patience=timedelta(hours=1), first_delay=0.25, passing_first=0.5,
                             max_delay=60.0)
# Outbox rows: a reply waits out Telegram's trouble for up to a day; anything else that is neither permanent nor
# passing (a 409, an unknown error) is tried ten times.
OUTBOX_POLICY = RetryPolicy(max_attempts=10, patience=timedelta(hours=24), first_delay=0.5, passing_first=1.0,
                            max_delay=300.0)
# Reminders: a reminder whose delivery fails (its report cannot be built) is tried again a minute later, then
# two; the third failure skips it and tells the creator. The database being away delays it, uncounted, within
# the reminder's grace period.
REMINDERS_POLICY = RetryPolicy(max_attempts=3, patience=timedelta(minutes=30), first_delay=30.0,
                               passing_first=20.0, max_delay=600.0)


def kind_of(exc: BaseException) -> str:
    """A failure of work that makes no Telegram call as the policy sees it: the database away is passing,
    data the database refuses is permanent, anything else is counted."""
    if is_transient(exc):
        return PASSING
    if isinstance(exc, DataError | IntegrityError):
        return PERMANENT
    return FAILED
