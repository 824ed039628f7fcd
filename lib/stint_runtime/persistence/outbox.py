"""The outbox relay: committed events to Kafka at least once, in order per aggregate, one relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime import metrics
from stint_runtime.failures import is_transient
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import Client, Document
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork, UnitOfWorkFactory
from stint_runtime.readiness import Readiness

log = logging.getLogger("stint.outbox")

LEASES = "leases"
PENDING: Document = {"published_at": None, "parked_at": None}
PARKED: Document = {"published_at": None, "parked_at": {"$ne": None}}
STATUS_INTERVAL = 5.0
MAX_OUTAGE_BACKOFF = 5.0
RELAY_PART = "outbox relay"
RELAY_LEASE = "outbox-relay"
PUBLISHED_TTL = timedelta(days=7)


def ensure_outbox_indexes(outbox: Collection[Document]) -> None:
    outbox.create_index([("published_at", ASCENDING), ("order", ASCENDING)], name="pending")
    outbox.create_index([("key", ASCENDING), ("published_at", ASCENDING)], name="pending_by_key")
    outbox.create_index(
        "published_at",
        name="published_ttl",
        expireAfterSeconds=int(PUBLISHED_TTL.total_seconds()),
    )


def in_publish_order(records: list[Document]) -> list[Document]:
    """Insertion order, except that each key's records are published in ascending sequence.

    Records of one key keep the slots they had in insertion order; only their sequence
    decides which record goes into which slot.
    """
    by_key: dict[str, list[Document]] = {}
    for record in records:
        by_key.setdefault(record["key"], []).append(record)
    queues = {
        key: iter(sorted(group, key=lambda r: (r["sequence"], r["order"])))
        for key, group in by_key.items()
    }
    return [next(queues[record["key"]]) for record in records]


def database_now(db: Database[Document]) -> datetime:
    """The database server's clock: the one time every replica of a service agrees on."""
    local_time: datetime = db.command("hello")["localTime"]
    return local_time if local_time.tzinfo else local_time.replace(tzinfo=UTC)


class Lease:
    """A lease document: whoever holds an unexpired lease is the only one doing the work.

    Expiry is judged by the database's clock, never a replica's own, so replicas with skewed
    clocks cannot both believe they hold it.
    """

    def __init__(self, leases: Collection[Document], name: str, owner: str, ttl: timedelta) -> None:
        self._leases = leases
        self.name = name
        self.owner = owner
        self.ttl = ttl

    def acquire(self, now: datetime | None = None) -> bool:
        """Take or renew the lease (at `now`, default the database's time); False while another
        live owner holds it."""
        now = now or database_now(self._leases.database)
        try:
            held = self._leases.find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expires_at": now + self.ttl}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False
        return held is not None and held["owner"] == self.owner

    def renew(self) -> bool:
        """Extend the lease if this owner still holds it unexpired; False once it is lost."""
        now = database_now(self._leases.database)
        renewed = self._leases.update_one(
            {"_id": self.name, "owner": self.owner, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now + self.ttl}},
        )
        return renewed.matched_count == 1

    def release(self) -> None:
        self._leases.update_one(
            {"_id": self.name, "owner": self.owner},
            {"$set": {"expires_at": datetime.fromtimestamp(0, UTC)}},
        )


@dataclass(frozen=True)
class OutboxStatus:
    """What an operator asks of an outbox: how much waits, how much is parked, how old."""

    pending: int
    parked: int
    oldest_pending_age_seconds: float


class _LeaseLostError(Exception):
    """Another relay took the lease over during this pass."""


class OutboxRelay:
    """Moves events from a database's outbox to Kafka; several replicas may run, one relays.

    The lease is renewed during a pass and checked before every publish, so a slow broker
    cannot let a second relay publish the same records. Each aggregate's events go out in
    the order of the aggregate's own sequence. A record that fails to send for a reason that
    would not change on retry (unparseable bytes, too large, refused by the broker) stalls
    only its key; after `max_attempts` it is parked with the reason and the key moves on.
    Outages (broker or database unreachable) pause the relay without spending any attempt.
    """

    def __init__(
        self,
        client: Client,
        database_name: str,
        publisher: KafkaPublisher,
        *,
        poll_interval: float = 0.2,
        lease_ttl: timedelta = timedelta(seconds=10),
        batch_size: int = 100,
        owner: str | None = None,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        readiness: Readiness | None = None,
    ) -> None:
        db = client[database_name]
        self._db = db
        self._outbox: Collection[Document] = db[OUTBOX]
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff(1.0, 60.0)
        self._readiness = readiness or Readiness(grace_seconds=0)
        self.lease = Lease(
            db[LEASES],
            RELAY_LEASE,
            owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            lease_ttl,
        )
        self.passes = 0  # completed passes of the loop (observability and tests)
        self._outage = 0
        self._status_at = 0.0
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def attach(self, factory: UnitOfWorkFactory) -> None:
        """Wake the relay as soon as a unit of work of `factory` commits events."""
        factory.add_commit_listener(self._on_commit)

    def _on_commit(self, uow: UnitOfWork) -> None:
        if uow.emitted:
            self.wake()

    def wake(self) -> None:
        """Thread-safe: make the relay look at the outbox now instead of after its poll interval."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def pending_count(self) -> int:
        """How many committed events wait to be published (parked ones excluded)."""
        return self._outbox.count_documents(PENDING)

    def status(self) -> OutboxStatus:
        """Pending and parked counts and the age of the oldest pending event (database time)."""
        oldest = self._outbox.find_one(PENDING, projection={"created_at": 1}, sort=[("order", 1)])
        age = 0.0
        if oldest is not None:
            created = oldest["created_at"]
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            age = max(0.0, (database_now(self._db) - created).total_seconds())
        return OutboxStatus(
            pending=self.pending_count(),
            parked=self._outbox.count_documents(PARKED),
            oldest_pending_age_seconds=age,
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(ensure_outbox_indexes, self._outbox)
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop the loop, publish what the last calls committed (one pass), release the lease."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        try:
            await self.relay_once()
        except Exception:
            log.exception("final outbox pass failed; the next relay publishes the rest")
        finally:
            with contextlib.suppress(PyMongoError):
                await asyncio.to_thread(self.lease.release)

    async def relay_once(self) -> int:
        """One pass: publish what is due if this replica holds the lease; returns how many."""
        now = await asyncio.to_thread(database_now, self._db)
        if not await asyncio.to_thread(self.lease.acquire, now):
            return 0
        records = await asyncio.to_thread(self._pending_batch)
        published: list[str] = []
        stalled: set[str] = set()
        renewed_at = time.monotonic()
        try:
            for record in in_publish_order(records):
                key = record["key"]
                if key in stalled:
                    continue
                if _as_utc(record.get("retry_at")) > now:
                    stalled.add(key)  # the key's earliest event waits out its backoff
                    continue
                if time.monotonic() - renewed_at > self.lease.ttl.total_seconds() / 3:
                    if not await asyncio.to_thread(self.lease.renew):
                        raise _LeaseLostError
                    renewed_at = time.monotonic()
                try:
                    envelope = EventEnvelope.FromString(bytes(record["envelope"]))
                    await self._publisher.publish_envelope(record["topic"], envelope)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    if not await asyncio.to_thread(self._failed, record, exc, now):
                        stalled.add(key)  # its later events wait: order within a key holds
                    continue
                published.append(record["_id"])
        except _LeaseLostError:
            log.warning("outbox relay lease lost during a pass; another relay continues")
        finally:
            if published:
                await asyncio.to_thread(self._mark_published, published)
        return len(published)

    def _pending_batch(self) -> list[Document]:
        """The oldest pending records, with every pending record of their keys (for order)."""
        projection = {"created_at": 0, "published_at": 0}
        batch = list(
            self._outbox.find(PENDING, projection=projection)
            .sort("order", ASCENDING)
            .limit(self._batch_size)
        )
        if len(batch) < self._batch_size:
            return batch  # everything pending is here already
        keys = sorted({record["key"] for record in batch})
        same_keys = self._outbox.find({**PENDING, "key": {"$in": keys}}, projection=projection)
        return list(same_keys.sort("order", ASCENDING))

    def _failed(self, record: Document, error: Exception, now: datetime) -> bool:
        """Count a failed send; back off, or park the record once the attempts are spent.

        Returns True when the record is parked (its key moves on without it).
        """
        attempts = int(record.get("attempts", 0)) + 1
        reason = f"{type(error).__name__}: {error}"[:500]
        update: Document = {"attempts": attempts, "last_error": reason}
        if attempts >= self._max_attempts:
            update.update(parked_at=now, parked_reason=reason)
            log.error(
                "outbox record parked",
                extra={
                    "event_id": record["_id"],
                    "event_type": record.get("type"),
                    "topic": record["topic"],
                    "attempts": attempts,
                    "error": type(error).__name__,
                },
            )
        else:
            update["retry_at"] = now + timedelta(seconds=self._backoff.delay(attempts))
            log.warning(
                "outbox record failed to publish; its key waits",
                extra={"event_id": record["_id"], "attempts": attempts},
            )
        self._outbox.update_one({"_id": record["_id"]}, {"$set": update})
        return "parked_at" in update

    def _mark_published(self, ids: list[str]) -> None:
        self._outbox.update_many(
            {"_id": {"$in": ids}}, {"$set": {"published_at": database_now(self._db)}}
        )
        log.debug("relayed events", extra={"count": len(ids)})

    def _report_status(self) -> None:
        """Refresh the outbox gauges, at most every STATUS_INTERVAL seconds."""
        if time.monotonic() - self._status_at < STATUS_INTERVAL:
            return
        self._status_at = time.monotonic()
        status = self.status()
        where = {"database": self._db.name}
        metrics.outbox_pending.set(status.pending, where)
        metrics.outbox_parked.set(status.parked, where)
        metrics.outbox_oldest_pending_age.set(status.oldest_pending_age_seconds, where)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            published = 0
            delay = self._poll_interval
            try:
                published = await self.relay_once()
                await asyncio.to_thread(self._report_status)
                self._outage = 0
                self._readiness.recovered(RELAY_PART)
            except Exception as exc:
                self._outage += 1
                if is_transient(exc):
                    self._readiness.degraded(RELAY_PART, type(exc).__name__)
                    log.warning(
                        "outbox relay met an outage; retrying",
                        extra={"error": type(exc).__name__, "retries": self._outage},
                    )
                else:
                    log.exception("outbox relay pass failed; retrying")
                delay = max(delay, min(self._backoff.delay(self._outage), MAX_OUTAGE_BACKOFF))
            self.passes += 1
            if published >= self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)


def _as_utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
