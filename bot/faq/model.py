"""The FAQ model the bot answers with: versions on disk, training, and switching without a restart.

Versions live in `<data_dir>/faq/v0001, v0002, ...` (a fleet shares that directory); the live one is
named in the database (`live_models`), so every worker sees the same pointer. Training (from
`/retrain`, the nightly job or `creatorbot faq train` in another process) writes a new version and
publishes it; every worker notices the pointer change within seconds and swaps its matcher in
atomically. A version that cannot be loaded leaves the worker on the one it has.

The pointer file `<data_dir>/faq/CURRENT` is read only while the database has no pointer yet (a bot
upgraded from before 0008) or when there is no database (a library user of `FaqModel`).

Training and deleting versions take one lock for the whole fleet: a lease row in the database
(`runtime_leases`, name "faq-training"), renewed while it is held, so a process that dies frees it
within `LEASE_TTL`. A training reads the count of forgets before its examples, and its version is
published only if the count is unchanged, checked in the transaction that moves the pointer
(`live_models.publish_version`): a version never holds an example /forgetme removed before it went
live; when one was forgotten meanwhile the version is deleted and trained again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.faq.entries import Lessons
from bot.kernel.model_factory import model_factory
from bot.kernel.services import Services
from bot.store import leases, live_models
from nlp import versions
from nlp.batching import MicroBatcher
from nlp.encoder import Encoder
from nlp.faq import FaqMatcher, Match, Progress
from nlp.faq_data import FaqEntry
from nlp.faq_routed import RoutedFaqMatcher
from nlp.heads import footprint
from nlp.model_factory import ENGLISH, EncoderFactory, ModelFactory

log = logging.getLogger(__name__)


PREFETCH_LIMIT = 2000
TRAINING_LEASE = "faq-training"  # the fleet's lock on writing and deleting FAQ versions
LEASE_TTL = timedelta(minutes=2)  # a holder that stops renewing (it died) loses the lock after this
RENEW_SECONDS = 20.0
WAIT_SECONDS = 0.2  # between tries to take the lock another worker holds
STALE_TRIES = 3  # trainings in a row that may find an example forgotten meanwhile


class StaleTraining(RuntimeError):
    """An example the version was trained on was forgotten before it could be published."""


class LostLease(RuntimeError):
    """The fleet's training lock ran out (renewals failed) and another worker may hold it: what it guarded
    (publishing a version, deleting versions) is not done."""


def _consume_exception(future: asyncio.Future[tuple[Match, str]]) -> None:
    if not future.cancelled():
        future.exception()  # read here too, so an unused prefetch that failed is not reported as lost


class FaqModel:
    """Holds the live matcher; thread-safe reload and training."""

    def __init__(self, data_dir: Path, models: ModelFactory, sessions: sessionmaker[Session] | None = None) -> None:
        self.root = data_dir / "faq"
        self.models = models
        self.sessions = sessions  # where the live version is published (None: the pointer file)
        # the live version; its head (`matcher`) is loaded at first use and may be dropped again by the
        # process's head budget (nlp/heads.py), then loaded again at the next use
        self.version: str | None = None
        self._matcher: RoutedFaqMatcher | None = None
        self._size = 0  # the loaded head's bytes, for the budget
        self._loading = threading.Lock()
        self.trained_at = 0.0  # the live version's, known while its head is not loaded
        self.default_threshold: float | None = None
        self.training = threading.Lock()
        self._holder: str | None = None  # ours, while we hold the fleet's training lock
        self.retrain_due = False  # the nightly retrain waits for the end of a burst (bot.faq.jobs.auto_retrain)
        self._unreadable: set[str] = set()  # versions that failed to load (not retried every 5 s)
        self._missing: set[str] = set()  # published versions not in our directory (warned about once)
        # questions that arrive together are matched in one model call (nlp/batching.py)
        self.batcher: MicroBatcher[str, tuple[Match, str]] = MicroBatcher(self._match_batch, max_batch=64,
                                                                          max_wait=0.002)
        self._prefetched: dict[str, list[asyncio.Future[tuple[Match, str]]]] = {}

    @property
    def matcher(self) -> RoutedFaqMatcher | None:
        """The live version's matcher (None: no version is live); loads the head if the budget dropped it or
        it was never loaded (blocking then: about 13 ms for the demo FAQ; the processor's prefetch does it in
        the model's thread before a handler looks)."""
        matcher = self._matcher
        if matcher is None:
            return None if self.version is None else self._load_live()
        self.models.faq_heads.used(self, self._size)
        return matcher

    @property
    def loaded(self) -> bool:
        """Is the live version's head in memory now?"""
        return self._matcher is not None

    def evict(self) -> None:
        """The head budget needs the memory: drop the head, keep the version (loaded again at its next use)."""
        self._matcher = None

    def _go_live(self, matcher: RoutedFaqMatcher, version: str) -> None:
        shared = [part.encoder for part in (matcher.primary, matcher.multilingual) if part is not None]
        self._size = footprint(matcher, shared)
        self._matcher, self.version = matcher, version  # one reference swap each: readers see old or new
        self.trained_at = float(matcher.meta.trained_at)
        self.default_threshold = float(matcher.calibration.threshold)
        self.models.faq_heads.used(self, self._size)

    def _go_dark(self) -> None:
        self._matcher, self.version = None, None
        self.trained_at, self.default_threshold = 0.0, None
        self.models.faq_heads.dropped(self)

    def _adopt(self, version: str) -> bool:
        """Make `version` live without loading its head (start-up: a hundred creators start without reading a
        hundred heads); False when its meta cannot be read."""
        try:
            meta = FaqMatcher.read_meta(self.root / version)
            trained_at, threshold = float(meta["trained_at"]), float(meta["calibration"]["threshold"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        with self._loading:
            self._matcher, self.version = None, version
            self.trained_at, self.default_threshold = trained_at, threshold
        log.info("FAQ model %s is live (loaded at its first question)", version)
        return True

    def _older(self, version: str) -> list[str]:
        return [v for v in reversed(versions.versions(self.root)) if int(v[1:]) < int(version[1:])]

    def _first_loadable(self, candidates: list[str]) -> tuple[RoutedFaqMatcher, str] | None:
        for candidate in candidates:
            if candidate in self._unreadable:
                continue
            try:
                return self.models.load_faq(self.root / candidate), candidate
            except Exception:
                self._unreadable.add(candidate)
                log.exception("FAQ model %s cannot be loaded; keeping %s", candidate, self.version or "an older one")
        return None

    def _load_live(self) -> RoutedFaqMatcher | None:
        """Load the live version's head (an older version if it cannot be read, as at start-up)."""
        with self._loading:
            version = self.version
            if self._matcher is not None or version is None:
                return self._matcher
            found = self._first_loadable([version, *self._older(version)])
            if found is None:
                self._go_dark()
                return None
            self._go_live(*found)
            return found[0]

    def live_encoder(self) -> Encoder | None:
        """The live version's encoder (soft tags embed posts with it); None before the first version."""
        matcher = self.matcher
        return matcher.encoder if matcher is not None else None

    def _match_batch(self, questions: list[str]) -> list[tuple[Match, str]]:
        matcher, version = self.matcher, self.version or "?"
        if matcher is None:
            raise RuntimeError("no FAQ model is live")
        return [(m, version) for m in matcher.match(questions)]

    def prefetch(self, questions: list[str]) -> None:
        """Start matching questions the processor is about to hand to the handlers, all in one batch;
        `match` then finds each result ready (or on its way)."""
        if self.version is None or not questions:
            return
        if sum(len(v) for v in self._prefetched.values()) > PREFETCH_LIMIT:  # never asked for: drop
            for futures in self._prefetched.values():
                for future in futures:
                    future.cancel()
            self._prefetched.clear()
        for q in questions:
            future = asyncio.ensure_future(self.batcher.submit(q))
            future.add_done_callback(_consume_exception)
            self._prefetched.setdefault(q, []).append(future)

    async def ready(self, questions: list[str]) -> None:
        """Wait until a match of each question is ready (prefetching those that are not on their way),
        so that the `match` calls of the update's handler find them done: the processor calls this
        before it opens the update's transaction, and no transaction stays open across a model call."""
        if self.version is None or not questions:
            return
        self.prefetch([q for q in dict.fromkeys(questions) if not self._prefetched.get(q)])
        waiting = [futures[0] for q in questions if (futures := self._prefetched.get(q))]
        if waiting:
            await asyncio.wait(waiting)  # a failed match is the handler's to see, as without this wait

    async def match(self, question: str) -> tuple[Match, str]:
        """The best entry for one question and the model version that chose it."""
        futures = self._prefetched.get(question)
        if futures:
            future = futures.pop(0)
            if not futures:
                del self._prefetched[question]
            if not future.cancelled():
                return await future
        return await self.batcher.submit(question)

    def threshold_for(self, question: str) -> float | None:
        """The confidence threshold of the live matcher that answers `question` (None: no model)."""
        matcher = self.matcher
        if matcher is None:
            return None
        route = getattr(matcher, "route", None)
        return float((route(question) if route is not None else matcher).calibration.threshold)

    def encoder(self, name: str = ENGLISH) -> Encoder:
        return self.models.encoder(name)

    def published(self) -> str | None:
        """The version published for the fleet, if it is in our directory (blocking: reads the database)."""
        if self.sessions is None:
            return versions.current(self.root)
        with self.sessions() as session:
            name = live_models.live_version(session, live_models.FAQ)
        if name is None:  # never published through the database: the pointer file, from before 0008
            return versions.current(self.root)
        if versions.is_version(self.root, name):
            return name
        if name not in self._missing:
            self._missing.add(name)
            log.warning("FAQ model %r is published but %s has no such version: give every worker the same "
                        "[paths] data_dir; keeping %s", name, self.root, self.version or "none")
        return None

    def _publish(self, name: str, generation: int | None = None) -> bool:
        if self.sessions is None:
            versions.publish(self.root, name)
            return True
        with self.sessions() as session, session.begin():
            self._still_held(session)  # in the transaction that moves the pointer
            return live_models.publish_version(session, live_models.FAQ, name, generation)

    # ------------------------------------------------------------------ the fleet's training lock
    def _lease(self, holder: str) -> bool:
        assert self.sessions is not None
        with self.sessions() as session, session.begin():
            return leases.acquire(session, TRAINING_LEASE, holder, LEASE_TTL)

    def _keep_lease(self, holder: str, done: threading.Event) -> None:
        while not done.wait(RENEW_SECONDS):
            try:
                if not self._lease(holder):
                    log.error("the FAQ training lock ran out and another worker took it: this training stops")
                    return
            except Exception:  # the database is away for a moment: the lease outlives a few misses
                log.warning("cannot renew the FAQ training lock", exc_info=True)

    def _still_held(self, session: Session | None = None) -> None:
        """Raise LostLease unless this process still holds the fleet's training lock (with a database)."""
        if self.sessions is None or self._holder is None:
            return
        if session is not None:
            holder = leases.holder_of(session, TRAINING_LEASE)
        else:
            with self.sessions() as own:
                holder = leases.holder_of(own, TRAINING_LEASE)
        if holder != self._holder:
            raise LostLease("the FAQ training lock was lost (it ran out); nothing was published or deleted")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the training lock of this process and, with a database, of the whole fleet (blocking:
        waits while another worker trains or deletes versions)."""
        with self.training:
            if self.sessions is None:
                yield
                return
            holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
            while not self._lease(holder):
                time.sleep(WAIT_SECONDS)
            done = threading.Event()
            keeper = threading.Thread(target=self._keep_lease, args=(holder, done), name="faq-training-lease",
                                      daemon=True)
            keeper.start()
            self._holder = holder
            try:
                yield
            finally:
                self._holder = None
                done.set()
                keeper.join()
                try:
                    with self.sessions() as session, session.begin():
                        leases.release(session, TRAINING_LEASE, holder)
                except Exception:  # the lease runs out by itself
                    log.warning("cannot release the FAQ training lock", exc_info=True)

    def training_busy(self) -> bool:
        """Is a training (or a deletion of versions) running here or on another worker? (blocking)"""
        if self.training.locked():
            return True
        if self.sessions is None:
            return False
        with self.sessions() as session:
            return leases.holder_of(session, TRAINING_LEASE) is not None

    def _unpublish(self) -> None:
        versions.unpublish(self.root)
        if self.sessions is not None:
            with self.sessions() as session, session.begin():
                live_models.withdraw(session, live_models.FAQ)

    def reload_if_changed(self, lazy: bool = False) -> bool:
        """Load the published version if it is not the live one. Returns True when it switched.
        `lazy`: when nothing is live yet, make it live without loading its head (loaded at its first use).

        A version that cannot be loaded leaves the live one in place. When nothing is published and
        the live version's directory is gone, every version was deleted on purpose (/forgetme on
        another worker): this one stops answering with it too."""
        name = self.published()
        if name is None and self.version is not None and not versions.is_version(self.root, self.version):
            log.info("FAQ model %s was deleted and nothing is published: no FAQ answers until a retrain", self.version)
            with self._loading:
                self._go_dark()
            return True
        if name is None or name == self.version or name in self._unreadable:
            return False
        if lazy and self.version is None and self._adopt(name):
            return True
        # nothing live yet (start-up): fall back to the newest older version
        found = self._first_loadable([name, *(self._older(name) if self.version is None else [])])
        if found is None:
            return False
        with self._loading:
            self._go_live(*found)
        log.info("FAQ model %s is live (%d entries)", found[1], len(found[0].meta.entry_ids))
        return True

    def train(self, entries: list[FaqEntry], target_precision: float, min_margin: float = 0.0,
              progress: Progress | None = None, lessons: Lessons | None = None) -> tuple[str, RoutedFaqMatcher]:
        """Train, save and publish a new version; the caller decides when to reload.
        `lessons`: what the traffic taught beyond the examples (bot.faq.entries.Lessons: questions marked wrong,
        confirmations, what the handoffs stand for)."""
        with self.exclusive():
            return self.train_locked(entries, target_precision, min_margin, progress, lessons=lessons)

    def train_locked(self, entries: list[FaqEntry], target_precision: float, min_margin: float = 0.0,
                     progress: Progress | None = None, generation: int | None = None,
                     lessons: Lessons | None = None) -> tuple[str, RoutedFaqMatcher]:
        """`train` for a caller that holds `exclusive()`. With `generation` (the count of forgets read
        before `entries`), raises StaleTraining instead of publishing when an example was forgotten since."""
        matcher = self.models.fit_faq(entries, target_precision=target_precision, min_margin=min_margin,
                                      progress=progress, **(lessons.fit_kwargs() if lessons else {}))
        path = versions.new_version_dir(self.root)
        try:
            matcher.save(path)
            published = self._publish(path.name, generation)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        if not published:
            shutil.rmtree(path, ignore_errors=True)
            raise StaleTraining(f"an example of {path.name} was forgotten while it was trained")
        return path.name, matcher

    def drop_versions_except(self, keep: str | None) -> int:
        """Delete every version directory but `keep` (None: all of them, and nothing is live).

        After /forgetme the older versions hold the forgotten follower's questions."""
        with self.exclusive():  # never while a version is being written, on any worker
            return self.drop_locked(keep)

    def drop_locked(self, keep: str | None) -> int:
        """`drop_versions_except` for a caller that holds `exclusive()`."""
        self._still_held()
        removed = 0
        if keep is None:
            self._unpublish()
            with self._loading:
                self._go_dark()
        for name in versions.versions(self.root):
            if name != keep:
                shutil.rmtree(self.root / name, ignore_errors=True)
                removed += 1
        return removed


def train_from_database(model: FaqModel, sessions: sessionmaker[Session], target_precision: float,
                        min_margin: float = 0.0, progress: Progress | None = None,
                        drop_older: bool = False) -> tuple[str, RoutedFaqMatcher]:
    """Blocking: read accepted examples, train and publish (run it in a thread), holding the fleet's
    training lock throughout. When /forgetme removed an example meanwhile, the version is deleted
    unpublished and trained again from what is left. `drop_older`: then delete every other version
    (they hold forgotten questions), still under the lock."""
    from bot.faq.entries import training_entries

    with model.exclusive():
        for _ in range(STALE_TRIES):
            with sessions() as session:
                # the count first: a forget that commits between the two reads makes this version stale
                generation = live_models.forget_generation(session, live_models.FAQ)
                entries = training_entries(session)
                lessons = Lessons.read(session)
            if not entries:
                raise ValueError("no FAQ entries yet: import a FAQ file first (creatorbot faq import FILE)")
            try:
                version, matcher = model.train_locked(entries, target_precision, min_margin, progress, generation,
                                                     lessons)
            except StaleTraining as exc:
                log.info("%s: training again", exc)
                continue
            if drop_older:
                model.drop_locked(version)
            return version, matcher
    raise StaleTraining(f"examples were forgotten during each of {STALE_TRIES} trainings in a row")


def faq_model_for(settings: Any, encoder_factory: EncoderFactory | None = None,
                  models: ModelFactory | None = None, sessions: sessionmaker[Session] | None = None) -> FaqModel:
    """The FAQ model as the config asks for it ([paths] data_dir, [models] routing and directory),
    published through the database of `sessions`."""
    return FaqModel(settings.data_dir, models or model_factory(settings, encoder_factory), sessions)


def live_model(services: Services) -> FaqModel | None:
    """The FAQ model this feature attached to `services` at start-up (see `bot.faq.register`)."""
    model = services.faq_model
    assert model is None or isinstance(model, FaqModel)
    return model
