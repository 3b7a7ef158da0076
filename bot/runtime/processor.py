"""The processor: handles stored updates, one transaction per update.

The handler's writes, its outbox rows and the update's `done` mark commit together, so a crash
at any point either loses the whole attempt (and the update is handled again) or none of it.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from telegram import Update
from telegram.ext import Application

from bot.services.deps import Services
from bot.services.faq import questions_in
from bot.services.outbox import OUTBOX_NEW
from bot.services.unit import UpdateState, current_update
from bot.store.updates import mark_update, pending_updates
from bot.waiting import wait_event

log = logging.getLogger(__name__)


FRESH_LIMIT = 1000


class Processor:
    """Handles stored updates in `update_id` order, one transaction per update.

    Updates the poller has just committed are handed over in memory (no database round trip on
    the hot path); the database scan picks up everything else (after a restart, after a failure).
    An update is never handled twice in one process: `_seen` remembers recent ids.
    """

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], services: Services,
                 on_error: Callable[[Session, BaseException], object]) -> None:
        self.application = application
        self.services = services
        self.on_error = on_error
        self._wake = asyncio.Event()
        self._fresh: deque[tuple[int, dict[str, Any]]] = deque()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._overflow = False

    def wake(self) -> None:
        self._wake.set()

    def stored(self, payloads: list[dict[str, Any]]) -> None:
        """The poller committed these: handle them without reading them back.

        At most FRESH_LIMIT wait in memory; beyond that they are dropped here and read back from
        the database (where they are stored) by the scan, so a flood cannot grow memory."""
        if self._overflow or len(self._fresh) >= FRESH_LIMIT:
            self._overflow = True  # until the scan has caught up, so updates stay in order
        else:
            self._fresh.extend((p["update_id"], p) for p in payloads
                               if isinstance(p, dict) and isinstance(p.get("update_id"), int))
        self._wake.set()

    def _batch(self) -> list[tuple[int, dict[str, Any]]]:
        with self.services.sessions() as session:
            return [(r.update_id, r.payload) for r in pending_updates(session)]

    async def run(self) -> None:
        while True:
            self._wake.clear()
            if self._fresh:
                batch = sorted(self._fresh, key=lambda item: item[0])
                self._fresh.clear()
            else:
                batch = await asyncio.to_thread(self._batch)
                if not batch:
                    self._overflow = False
            if self.services.faq_model is not None:  # one model call for the questions of this batch
                self.services.faq_model.prefetch(questions_in([p for u, p in batch if u not in self._seen]))
            for update_id, payload in batch:
                if update_id in self._seen:
                    continue
                await self.handle(update_id, payload)
                self._seen[update_id] = None
                if len(self._seen) > 10_000:
                    self._seen.popitem(last=False)
            if not batch and not self._fresh:
                await wait_event(self._wake, 5)

    async def handle(self, update_id: int, payload: dict[str, Any]) -> None:
        """Handle one stored update; odd or failing updates are marked and skipped."""
        services = self.services
        try:
            update = Update.de_json(payload, self.application.bot)
        except Exception as exc:
            log.warning("update %s is malformed, stored and skipped: %s", update_id, exc)
            async with services.unit() as session:
                mark_update(session, update_id, "skipped", f"malformed: {exc}"[:1000])
            return
        failure: BaseException | None = None
        async with services.db_lock:
            with services.sessions() as session:
                state = UpdateState(session)
                token = current_update.set(state)
                try:
                    with session.begin():
                        await self.application.process_update(update)
                        if state.errors:
                            raise state.errors[0]
                        mark_update(session, update_id, "done")
                except Exception as exc:
                    failure = exc
                finally:
                    current_update.reset(token)
            if failure is None:
                services.hand_over(session.info.get(OUTBOX_NEW, []))
        if failure is not None:
            text = "".join(traceback.format_exception_only(type(failure), failure)).strip()
            async with services.unit() as session:
                mark_update(session, update_id, "error", text[:1000])
                self.on_error(session, failure)
        services.wake_sender()
