"""The outbox relay: committed events to Kafka at least once, in order per key, one relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import Client, Document
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("stint.outbox")

LEASES = "leases"
RELAY_LEASE = "outbox-relay"
PUBLISHED_TTL = timedelta(days=7)


def ensure_outbox_indexes(outbox: Collection[Document]) -> None:
    outbox.create_index([("published_at", ASCENDING), ("order", ASCENDING)], name="pending")
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


class Lease:
    """A lease document: whoever holds an unexpired lease is the only one doing the work."""

    def __init__(self, leases: Collection[Document], name: str, owner: str, ttl: timedelta) -> None:
        self._leases = leases
        self.name = name
        self.owner = owner
        self.ttl = ttl

    def acquire(self) -> bool:
        """Take or renew the lease; False while another live owner holds it."""
        now = datetime.now(UTC)
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

    def release(self) -> None:
        self._leases.update_one(
            {"_id": self.name, "owner": self.owner},
            {"$set": {"expires_at": datetime.fromtimestamp(0, UTC)}},
        )


class OutboxRelay:
    """Moves events from a database's outbox to Kafka; several replicas may run, one relays."""

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
    ) -> None:
        db = client[database_name]
        self._outbox: Collection[Document] = db[OUTBOX]
        self._publisher = publisher
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self.lease = Lease(
            db[LEASES],
            RELAY_LEASE,
            owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            lease_ttl,
        )
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
        """How many committed events are not published yet."""
        return self._outbox.count_documents({"published_at": None})

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
            await asyncio.to_thread(self.lease.release)

    async def relay_once(self) -> int:
        """One pass: publish a batch if this replica holds the lease; returns how many."""
        if not await asyncio.to_thread(self.lease.acquire):
            return 0
        records = await asyncio.to_thread(self._pending_batch)
        published: list[str] = []
        try:
            for record in in_publish_order(records):
                envelope = EventEnvelope.FromString(bytes(record["envelope"]))
                await self._publisher.publish_envelope(record["topic"], envelope)
                published.append(record["_id"])
        finally:
            if published:
                await asyncio.to_thread(self._mark_published, published)
        return len(published)

    def _pending_batch(self) -> list[Document]:
        cursor = self._outbox.find(
            {"published_at": None}, projection={"created_at": 0, "published_at": 0}
        )
        return list(cursor.sort("order", ASCENDING).limit(self._batch_size))

    def _mark_published(self, ids: list[str]) -> None:
        self._outbox.update_many(
            {"_id": {"$in": ids}}, {"$set": {"published_at": datetime.now(UTC)}}
        )
        log.debug("relayed events", extra={"count": len(ids)})

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            published = 0
            try:
                published = await self.relay_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
            if published >= self._batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval)
