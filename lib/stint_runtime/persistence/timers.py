"""Durable timers kept inside their aggregate's document, fired by a scanner driven by a Clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from stint_runtime import metrics
from stint_runtime.clock import Clock
from stint_runtime.failures import is_transient
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.readiness import Readiness

log = logging.getLogger("stint.timers")

TIMERS = "timers"
FAILED_TIMERS = "failed_timers"
TIMERS_PART = "timers"
NEVER = datetime.min.replace(tzinfo=UTC)
TimerHandler = Callable[[UnitOfWork, str, str], None]


def _stored(moment: datetime) -> datetime:
    """As MongoDB will give it back: UTC, millisecond precision (so equality matches hold)."""
    if moment.tzinfo is None:
        raise ValueError("timers need timezone-aware datetimes")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def set_timer(document: Document, name: str, due_at: datetime) -> None:
    """Schedule (or reschedule) the aggregate's timer `name`; at most one timer per name."""
    cancel_timer(document, name)
    document[TIMERS].append({"name": name, "due_at": _stored(due_at)})


def cancel_timer(document: Document, name: str) -> None:
    """Forget the timer `name` (nothing happens if it is not set)."""
    document[TIMERS] = [t for t in document.get(TIMERS, []) if t["name"] != name]


def cancel_all_timers(document: Document) -> None:
    document[TIMERS] = []


def timer_due_at(document: Mapping[str, Any], name: str) -> datetime | None:
    for timer in document.get(TIMERS, []):
        if timer["name"] == name:
            return _as_utc(timer["due_at"])
    return None


def ensure_timer_index(collection: Collection[Document]) -> None:
    collection.create_index([(f"{TIMERS}.due_at", ASCENDING)], name="timers_due_at")


class TimerScanner:
    """Fires due timers of one collection: handler and timer removal commit in one unit of work.

    A handler that fails is retried after a backoff; an outage (database unreachable, write
    conflict) is retried for as long as it lasts. A timer whose handler keeps failing for a
    deterministic reason is given up after `max_attempts`: it moves to the `failed_timers`
    collection with the reason (metric, log, `stint timers failed`), so it neither retries for
    ever nor disappears unseen.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        collection: str,
        handlers: Mapping[str, TimerHandler],
        clock: Clock,
        poll_interval: float = 1.0,
        batch_size: int = 100,
        max_attempts: int = 10,
        readiness: Readiness | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._collection = collection
        self._handlers = dict(handlers)
        self._clock = clock
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._readiness = readiness or Readiness(grace_seconds=0)
        self._backoff = Backoff(poll_interval, 60 * poll_interval)
        self._retries: dict[tuple[Any, str], _Retry] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._indexed = False

    @property
    def retrying(self) -> int:
        """How many timers are waiting out a backoff after a failure."""
        return len(self._retries)

    def fire_due(self) -> int:
        """One pass (blocking): fire every timer due by the clock's now; returns how many fired."""
        now = self._clock.now()
        collection = self._uow_factory.db[self._collection]
        if not self._indexed:
            ensure_timer_index(collection)
            self._indexed = True
        query: Document = {
            TIMERS: {"$elemMatch": {"name": {"$in": list(self._handlers)}, "due_at": {"$lte": now}}}
        }
        backing_off = sorted({key[0] for key, retry in self._retries.items() if retry.at > now})
        if backing_off:
            # Failing aggregates wait out their backoff without taking the batch from others.
            query["_id"] = {"$nin": backing_off}
        due = collection.find(query, projection={TIMERS: 1})
        documents = list(due.sort(f"{TIMERS}.due_at", ASCENDING).limit(self._batch_size))
        metrics.timers_due.set(len(documents), {"collection": self._collection})
        fired = 0
        seen: set[tuple[Any, str]] = set()
        for document in documents:
            for timer in document.get(TIMERS, []):
                if timer["name"] in self._handlers and _as_utc(timer["due_at"]) <= now:
                    seen.add((document["_id"], timer["name"]))
                    fired += self._fire(document["_id"], timer["name"], timer["due_at"])
        if len(documents) < self._batch_size:  # every due timer was seen
            self._forget_gone(seen, now)
        return fired

    def _forget_gone(self, seen: set[tuple[Any, str]], now: datetime) -> None:
        """Drop the retry bookkeeping of timers that were cancelled or moved meanwhile."""
        for key, retry in list(self._retries.items()):
            if retry.at <= now and key not in seen:
                del self._retries[key]

    def _fire(self, aggregate_id: Any, name: str, due_at: datetime) -> int:
        handler = self._handlers[name]
        timer = {"name": name, "due_at": due_at}

        def unit(uow: UnitOfWork) -> int:
            # Removing exactly this timer doubles as the check that it is still set: a
            # concurrent cancel or reschedule makes it match nothing (or conflict and retry).
            removed = uow.db[self._collection].update_one(
                {"_id": aggregate_id, TIMERS: {"$elemMatch": timer}},
                {"$pull": {TIMERS: timer}},
                session=uow.session,
            )
            if removed.modified_count == 0:
                return 0
            handler(uow, aggregate_id, name)
            return 1

        key = (aggregate_id, name)
        try:
            fired = self._uow_factory.run(unit)
        except Exception as exc:
            self._failed(key, due_at, exc)
            return 0
        self._retries.pop(key, None)
        self._readiness.recovered(TIMERS_PART)
        return fired

    def _failed(self, key: tuple[Any, str], due_at: datetime, error: Exception) -> None:
        aggregate_id, name = key
        retry = self._retries.setdefault(key, _Retry())
        transient = is_transient(error)
        if transient:
            retry.outage += 1
            self._readiness.degraded(TIMERS_PART, type(error).__name__)
        else:
            retry.failures += 1
        details = {
            "timer": name,
            "aggregate_id": str(aggregate_id),
            "error": type(error).__name__,
            "failures": retry.failures,
        }
        if not transient and retry.failures >= self._max_attempts:
            self._give_up(aggregate_id, name, due_at, retry.failures, error)
            del self._retries[key]
            return
        retry.at = self._clock.now() + timedelta(
            seconds=self._backoff.delay(retry.failures + retry.outage)
        )
        log.warning("timer handler failed; retried after a backoff", extra=details)

    def _give_up(
        self, aggregate_id: Any, name: str, due_at: datetime, failures: int, error: Exception
    ) -> None:
        """Move the timer out of its aggregate into failed_timers, in one transaction."""
        reason = f"{type(error).__name__}: {error}"[:500]
        timer = {"name": name, "due_at": due_at}

        def unit(uow: UnitOfWork) -> None:
            uow.db[self._collection].update_one(
                {"_id": aggregate_id}, {"$pull": {TIMERS: timer}}, session=uow.session
            )
            uow.db[FAILED_TIMERS].replace_one(
                {"_id": f"{self._collection}:{aggregate_id}:{name}"},
                {
                    "collection": self._collection,
                    "aggregate_id": aggregate_id,
                    "name": name,
                    "due_at": due_at,
                    "failures": failures,
                    "reason": reason,
                    "failed_at": self._clock.now(),
                },
                upsert=True,
                session=uow.session,
            )

        try:
            self._uow_factory.run(unit)
        except Exception:
            log.exception("could not record a failed timer; it will be retried")
            return
        metrics.timers_failed.add(1, {"collection": self._collection, "timer": name})
        log.error(
            "timer failed after its retry budget",
            extra={
                "timer": name,
                "aggregate_id": str(aggregate_id),
                "failures": failures,
                "error": type(error).__name__,
            },
        )

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=f"timers-{self._collection}")

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.fire_due)
            except Exception as exc:
                if is_transient(exc):
                    self._readiness.degraded(TIMERS_PART, type(exc).__name__)
                log.warning("timer pass failed", extra={"error": type(exc).__name__})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_interval)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None


@dataclass
class _Retry:
    """A failing timer's bookkeeping: when to try again and how often it failed."""

    at: datetime = NEVER
    failures: int = 0  # deterministic: counted against the budget
    outage: int = 0  # transient: retried for as long as they last
