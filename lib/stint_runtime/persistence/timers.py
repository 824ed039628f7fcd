"""Durable timers kept inside their aggregate's document, fired by a scanner driven by a Clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from stint_runtime.clock import Clock
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("stint.timers")

TIMERS = "timers"
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
    """Fires due timers of one collection: handler and timer removal commit in one unit of work."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        collection: str,
        handlers: Mapping[str, TimerHandler],
        clock: Clock,
        poll_interval: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        self._uow_factory = uow_factory
        self._collection = collection
        self._handlers = dict(handlers)
        self._clock = clock
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._backoff = Backoff(poll_interval, 60 * poll_interval)
        self._failures: dict[Any, int] = {}
        self._retry_at: dict[Any, datetime] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._indexed = False

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
        backing_off = [key for key, retry_at in self._retry_at.items() if retry_at > now]
        if backing_off:
            # Failing aggregates wait out their backoff without taking the batch from others.
            query["_id"] = {"$nin": backing_off}
        due = collection.find(query, projection={TIMERS: 1})
        fired = 0
        for document in list(due.sort(f"{TIMERS}.due_at", ASCENDING).limit(self._batch_size)):
            for timer in document.get(TIMERS, []):
                if timer["name"] in self._handlers and _as_utc(timer["due_at"]) <= now:
                    fired += self._fire(document["_id"], timer["name"], timer["due_at"])
        return fired

    def _fire(self, aggregate_id: str, name: str, due_at: datetime) -> int:
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

        try:
            fired = self._uow_factory.run(unit)
        except Exception as exc:
            self._failures[aggregate_id] = failures = self._failures.get(aggregate_id, 0) + 1
            self._retry_at[aggregate_id] = self._clock.now() + timedelta(
                seconds=self._backoff.delay(failures)
            )
            log.warning(
                "timer handler failed; retried after a backoff",
                extra={
                    "timer": name,
                    "aggregate_id": str(aggregate_id),
                    "error": type(exc).__name__,
                    "failures": failures,
                },
            )
            return 0
        self._failures.pop(aggregate_id, None)
        self._retry_at.pop(aggregate_id, None)
        return fired

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self.run(), name=f"timers-{self._collection}")

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.fire_due)
            except Exception:
                log.exception("timer pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_interval)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
