"""The processor: claims stored updates from the database and handles them, one transaction each.

The handler's writes, its outbox rows and the update's `done` mark commit together, and the mark
only succeeds while this worker still holds the claim, so an update is handled exactly once even
when a lease ran out and another worker took it over; while a batch is handled its leases are renewed
(PostgreSQL), so a slow handler keeps its updates. A failing update goes by the one retry policy
(bot/store/retry.py, `UPDATES_POLICY`): retried with a growing delay and dead-lettered (status `dead`, the
creator hears about it) after `MAX_ATTEMPTS`; Telegram's passing trouble in a lookup on the side is waited out
uncounted for an hour. Errors that say the database itself is away (bot/store/failures.py) do not count.

Model work for a batch (the FAQ's matching of its questions, `Registry.prefetch`) starts in one call
before any update of the batch is handled, and an update's transaction opens only once its part is
ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot.kernel.services import Services
from bot.kernel.unit import UpdateState, current_update
from bot.kernel.waiting import IdlePolls, off_loop, wait_event
from bot.runtime.bot_api import passing_failure, retry_after_seconds
from bot.runtime.health import Metrics
from bot.store.db import in_process
from bot.store.failures import is_transient
from bot.store.models import RawUpdate, utcnow
from bot.store.queue import DEAD, DONE
from bot.store.retry import FAILED, PASSING, UPDATES_POLICY
from bot.store.updates import (
    GONE,
    LOST,
    SKIPPED,
    UPDATES,
    claim_updates,
    finish_update,
    has_pending,
    hold_update,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = UPDATES_POLICY.max_attempts
CLAIM_CHATS = 20  # chats one claim takes (with up to 10 updates each)
IDLE_CAP = 4.0  # seconds an idle processor waits at most between polls (an update stored here wakes it at once)


class LostClaim(Exception):
    """Another worker took this update over (our lease ran out); our attempt is rolled back."""


def failure_kind(exc: BaseException) -> tuple[str, float | None]:
    """A handler's failure as the retry policy sees it (bot/store/retry.py), and Telegram's `retry_after`: a
    passing Telegram failure in a lookup on the side (getChat met the network, a 5xx, a 429) delays the update
    uncounted; anything else counts as an attempt."""
    if not passing_failure(exc):
        return FAILED, None
    return PASSING, retry_after_seconds(exc) if isinstance(exc, RetryAfter) else None


class Processor:
    """`run()` until cancelled: claim a batch, handle it in order, repeat; `wake()` after storing."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], services: Services,
                 on_dead: Callable[[Session, BaseException], object], worker: str,
                 lease: timedelta, metrics: Metrics, heartbeat: Callable[[], None] = lambda: None) -> None:
        self.application = application
        self.services = services
        self.on_dead = on_dead
        self.worker = worker
        self.lease = lease
        self.metrics = metrics
        self.heartbeat = heartbeat
        self._wake = asyncio.Event()
        self._in_process = in_process(services.sessions)

    def wake(self) -> None:
        self._wake.set()

    def _claim(self) -> list[RawUpdate]:
        with self.services.sessions() as session, session.begin():
            return claim_updates(session, self.worker, self.lease, chats=CLAIM_CHATS)

    def _waiting(self) -> bool:
        with self.services.sessions() as session:
            return has_pending(session)

    def _release(self, ids: list[int] | None = None) -> None:
        with self.services.sessions() as session, session.begin():
            UPDATES.release(session, self.worker, ids)

    async def run(self) -> None:
        await asyncio.to_thread(self._release)  # what an earlier run of this worker left claimed
        idle = IdlePolls(0.5, IDLE_CAP)
        try:
            while True:
                self._wake.clear()
                self.heartbeat()
                batch = await off_loop(self._in_process, self._claim, self.services.db_lock)
                if batch:
                    idle.next(True, True)
                    await self.handle_batch(batch)
                    if len({row.chat_key for row in batch}) < CLAIM_CHATS and not self._wake.is_set():
                        # every chat that was due came along and nothing was stored here since: claiming
                        # again at once would find nothing (a claim costs about 0.4 ms of CPU)
                        await wait_event(self._wake, idle.base)
                else:
                    await wait_event(self._wake, idle.next(False, await off_loop(self._in_process, self._waiting, self.services.db_lock)))
        finally:
            try:
                await asyncio.shield(asyncio.to_thread(self._release))
            except BaseException:
                pass

    def _renew(self, ids: list[int]) -> None:
        with self.services.sessions() as session, session.begin():
            UPDATES.renew(session, self.worker, ids, self.lease)

    async def _keep_leases(self, ids: list[int]) -> None:
        """Renew the batch's leases every third of a lease while it is handled (a fleet shares
        PostgreSQL; one SQLite process has nobody to take its updates over)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await asyncio.to_thread(self._renew, ids)
            except SQLAlchemyError as exc:  # the database is away: finishing will notice a lost claim
                log.warning("cannot renew the leases of %d updates: %s", len(ids), type(exc).__name__)

    async def handle_batch(self, batch: list[RawUpdate]) -> None:
        """Handle claimed rows in order; a chat whose update failed keeps its later ones for later."""
        held: set[int] = set()
        renewing = None if self._in_process else asyncio.create_task(self._keep_leases([row.id for row in batch]))
        payloads = [row.payload for row in batch]
        for prefetch in self.services.registry.prefetch:  # e.g. one model call for the batch's questions
            prefetch.start(self.services, payloads)
        try:
            for row in batch:
                if row.chat_key in held:
                    held.add(row.chat_key)
                    continue
                if not await self.handle(row):
                    held.add(row.chat_key)
                self.heartbeat()
        finally:
            if renewing is not None:
                renewing.cancel()
            left = [r.id for r in batch if r.chat_key in held]
            if left:
                await asyncio.to_thread(self._release, left)

    async def handle(self, row: RawUpdate) -> bool:
        """Handle one claimed update; False when it failed (it stays queued or was dead-lettered)."""
        try:
            update = Update.de_json(row.payload, self.application.bot)
        except Exception as exc:
            log.warning("update %s is malformed, stored and skipped: %s", row.update_id, exc)
            async with self.services.unit() as session:
                finish_update(session, row.id, self.worker, SKIPPED, f"malformed: {exc}"[:1000])
            self.metrics.updates_handled.labels(SKIPPED).inc()
            return True
        started = time.perf_counter()
        for prefetch in self.services.registry.prefetch:  # model calls happen here, before the transaction
            await prefetch.ready(self.services, row.payload)
        try:
            await self._process(row, update)
        except LostClaim:
            log.warning("update %s was taken over by another worker; our attempt is rolled back", row.update_id)
            return False
        except Exception as exc:
            await self._failed(row, exc)
            return False
        self.metrics.handler_seconds.observe(time.perf_counter() - started)
        self.metrics.updates_handled.labels(DONE).inc()
        return True

    async def _process(self, row: RawUpdate, update: Update) -> None:
        services = self.services
        async with services.db_lock:
            with services.sessions() as session:
                state = UpdateState(session, raw_id=row.id)
                token = current_update.set(state)
                try:
                    with session.begin():
                        held = hold_update(session, row.id, self.worker)
                        if held == GONE:  # forgotten (/forgetme on another worker) while it waited
                            return
                        if held == LOST:
                            raise LostClaim(row.update_id)
                        await self.application.process_update(update)
                        if state.errors:
                            raise state.errors[0]
                        if not finish_update(session, row.id, self.worker):
                            raise LostClaim(row.update_id)
                finally:
                    current_update.reset(token)
        services.wake_sender()

    async def _failed(self, row: RawUpdate, exc: BaseException) -> None:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:1000]
        if is_transient(exc):
            raise exc  # the database is gone: the supervisor backs off; the lease brings the update back
        kind, retry_after = failure_kind(exc)
        verdict = UPDATES_POLICY.after(kind, row.attempts, utcnow() - row.received_at, retry_after)
        if not verdict.dead:
            attempts = await self._call(lambda session: UPDATES.retry(
                session, row.id, self.worker, verdict.delay, text, counts=verdict.counts))
            if attempts is None:
                log.warning("update %s was taken over by another worker while it failed", row.update_id)
                return
            if verdict.counts:
                log.warning("update %s failed (attempt %d of %d), retrying: %s", row.update_id, attempts,
                            MAX_ATTEMPTS, text)
            else:  # a lookup on the side (getChat) met Telegram's trouble: later, not an attempt
                log.warning("update %s waits %.1f s for Telegram (%s)", row.update_id,
                            verdict.delay.total_seconds(), text)
            self.metrics.updates_handled.labels("retried").inc()
            return
        async with self.services.unit() as session:
            if not UPDATES.dead(session, row.id, self.worker, f"{verdict.why}: {text}", counts=verdict.counts):
                log.warning("update %s was taken over by another worker while it failed", row.update_id)
                return
            self.on_dead(session, exc)
        log.error("update %s dead-lettered (%s)", row.update_id, verdict.why, exc_info=exc)
        self.metrics.updates_handled.labels(DEAD).inc()

    async def _call(self, work: Callable[[Session], int | None]) -> int | None:
        async with self.services.unit() as session:
            return work(session)
