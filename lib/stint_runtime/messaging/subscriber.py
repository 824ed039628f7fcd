"""Consuming events: handler + inbox mark in one unit of work, then the commit; dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from google.protobuf.message import Message
from opentelemetry import trace
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.envelope import (
    InvalidEnvelopeError,
    UnknownEventTypeError,
    context_from_envelope,
    context_from_headers,
    decode_envelope,
    descriptor_of,
    headers_as_carrier,
    unpack,
)
from stint_runtime.messaging.kafka_config import kafka_client_options
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import dead_letter_topic
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.settings import StintSettings

Handler = Callable[[Message, EventEnvelope, UnitOfWork], None]


class Record(Protocol):
    """What the subscriber reads of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


INBOX = "inbox"
INBOX_TTL = timedelta(days=30)
POLL_TIMEOUT_MS = 200

log = logging.getLogger("stint.kafka")
tracer = trace.get_tracer("stint.kafka")


class _AlreadyAppliedError(Exception):
    """The inbox already holds this event id for this group."""


def inbox_id(group_id: str, event_id: str) -> str:
    return f"{group_id}:{event_id}"


def ensure_inbox_indexes(inbox: Collection[Document]) -> None:
    """Inbox marks outlive any redelivery: they are kept far longer than topics retain records."""
    inbox.create_index(
        "received_at", name="received_ttl", expireAfterSeconds=int(INBOX_TTL.total_seconds())
    )


def dead_letter_headers(
    record: Record, *, group_id: str, reason: str, attempts: int
) -> list[tuple[str, bytes]]:
    """The record's own headers plus why and from where it was dead-lettered."""
    extra = {
        "dlt-reason": reason,
        "dlt-group": group_id,
        "dlt-original-topic": record.topic,
        "dlt-original-partition": str(record.partition),
        "dlt-original-offset": str(record.offset),
        "dlt-attempts": str(attempts),
    }
    own = [(name, value) for name, value in record.headers if value is not None]
    return own + [(name, value.encode()) for name, value in extra.items()]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, subscriber: Subscriber) -> None:
        self._subscriber = subscriber

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Each record commits its own offset under this lock: waiting for it means nothing
        # processed stays uncommitted when the partitions move to another member.
        async with self._subscriber.processing:
            log.info("partitions revoked", extra={"partitions": len(revoked)})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": len(assigned)})
        if assigned:
            self._subscriber.assigned.set()


class Subscriber:
    """A consumer group member that applies each event's effect exactly once.

    Per record: the envelope is decoded (undecodable -> dead letter at once), its handler and
    an inbox mark "<group>:<event id>" run in one unit of work in a worker thread (a duplicate
    mark means the effect is already applied), and only then the offset is committed. A
    handler that keeps failing is retried with backoff, then the record goes to
    "<group>.<topic>.dlt" and the partition moves on. Types without a handler are skipped.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        uow_factory: UnitOfWorkFactory,
        dead_letters: KafkaPublisher,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        client_id: str | None = None,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 1_000,
        max_poll_records: int = 100,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        for event_type in handlers:
            descriptor_of(event_type)  # fails fast on a type no imported contract declares
        self.group_id = group_id
        self.topics = tuple(topics)
        self._handlers = dict(handlers)
        self._uow_factory = uow_factory
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff()
        self._consumer_config = {
            **(client_options or {}),
            "bootstrap_servers": bootstrap_servers,
            "group_id": group_id,
            "client_id": client_id or group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "max_poll_records": max_poll_records,
        }
        self._consumer: Any = None
        self.processing = asyncio.Lock()
        self.assigned = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: StintSettings,
        *,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        uow_factory: UnitOfWorkFactory,
        dead_letters: KafkaPublisher,
        group_id: str | None = None,
    ) -> Subscriber:
        """A subscriber for a service: its group is the service name unless told otherwise."""
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group_id or settings.service_name,
            topics=topics,
            handlers=handlers,
            uow_factory=uow_factory,
            dead_letters=dead_letters,
            max_attempts=settings.kafka_max_attempts,
            backoff=Backoff(
                settings.kafka_retry_backoff_seconds, settings.kafka_retry_backoff_max_seconds
            ),
            client_id=f"stint-{settings.service_name}",
            client_options=kafka_client_options(settings),
        )

    def dead_letter_topics(self) -> list[str]:
        return [dead_letter_topic(self.group_id, topic) for topic in self.topics]

    async def start(self) -> None:
        """Connect and consume in a background task (the group join completes in it)."""
        if self._task is not None:
            return
        self._stopping.clear()
        await asyncio.to_thread(ensure_inbox_indexes, self._uow_factory.db[INBOX])
        self._consumer = AIOKafkaConsumer(**self._consumer_config)
        self._consumer.subscribe(list(self.topics), listener=_Rebalance(self))
        await self._consumer.start()
        self._task = asyncio.create_task(self._consume(), name=f"subscriber-{self.group_id}")

    async def run(self) -> None:
        """Consume until stop() is called (or the loop fails)."""
        await self.start()
        assert self._task is not None
        await self._task

    async def stop(self) -> None:
        """Finish the record in flight, commit it, leave the group."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    async def wait_assigned(self) -> None:
        """Wait until the group join gave this member partitions (for tests and readiness)."""
        await self.assigned.wait()

    async def _consume(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=POLL_TIMEOUT_MS)
                failures = 0
            except KafkaError as exc:
                failures += 1
                log.error("fetch failed", extra={"error": type(exc).__name__})
                await self._pause(self._backoff.delay(failures))
                continue
            for tp, records in batches.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    async with self.processing:
                        # Checked under the lock a revoke takes: a partition handed to another
                        # member meanwhile is neither processed nor committed here.
                        if tp not in self._consumer.assignment():
                            break
                        if not await self._process(record):
                            return
                        await self._commit(tp, record.offset + 1)

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member, which resumes from the last commit;
            # the inbox makes the redelivered records harmless.
            log.warning("offset commit failed", extra={"error": type(exc).__name__})

    async def _process(self, record: Record) -> bool:
        """Apply, skip or dead-letter a record; False if stop() interrupted it (do not commit)."""
        try:
            envelope = decode_envelope(record.value)
            event = unpack(envelope) if envelope.type in self._handlers else None
        except (InvalidEnvelopeError, UnknownEventTypeError) as exc:
            return await self._dead_letter(record, f"undecodable: {exc}", attempts=1)
        if event is None:
            log.debug("no handler; skipped", extra={"event_type": envelope.type})
            return True
        handler = self._handlers[envelope.type]
        carrier = headers_as_carrier(record.headers)
        parent = (
            context_from_headers(record.headers)
            if "traceparent" in carrier
            else context_from_envelope(envelope)
        )
        with tracer.start_as_current_span(
            f"{record.topic} process",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=self._span_attributes(record, envelope),
        ) as span:
            for attempt in range(1, self._max_attempts + 1):
                try:
                    await asyncio.to_thread(self._apply, handler, event, envelope)
                    return True
                except Exception as exc:
                    reason = f"handler raised {type(exc).__name__}"
                    log.warning(
                        "event handler failed",
                        extra={
                            "event_id": envelope.id,
                            "event_type": envelope.type,
                            "attempt": attempt,
                            "error": type(exc).__name__,
                        },
                    )
                if attempt < self._max_attempts and await self._pause(self._backoff.delay(attempt)):
                    return False
            span.set_status(trace.Status(trace.StatusCode.ERROR, reason))
            return await self._dead_letter(record, reason, attempts=self._max_attempts)

    def _span_attributes(self, record: Record, envelope: EventEnvelope) -> dict[str, Any]:
        return {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.consumer.group.name": self.group_id,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
            "messaging.message.id": envelope.id,
            "cloudevents.event_type": envelope.type,
        }

    def _apply(self, handler: Handler, event: Message, envelope: EventEnvelope) -> None:
        """Worker thread: the handler and the inbox mark in one unit of work."""

        def unit(uow: UnitOfWork) -> None:
            mark = {
                "_id": inbox_id(self.group_id, envelope.id),
                "event_type": envelope.type,
                "received_at": datetime.now(UTC),
            }
            try:
                uow.db[INBOX].insert_one(mark, session=uow.session)
            except DuplicateKeyError:
                raise _AlreadyAppliedError from None
            handler(event, envelope, uow)

        try:
            self._uow_factory.run(unit)
        except _AlreadyAppliedError:
            log.info("duplicate event skipped", extra={"event_id": envelope.id})

    async def _pause(self, seconds: float) -> bool:
        """Sleep, or return True at once when stop() is called."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _dead_letter(self, record: Record, reason: str, *, attempts: int) -> bool:
        topic = dead_letter_topic(self.group_id, record.topic)
        headers = dead_letter_headers(
            record, group_id=self.group_id, reason=reason, attempts=attempts
        )
        failures = 0
        while True:
            try:
                await self._dead_letters.publish(topic, record.key, record.value, headers)
            except KafkaError as exc:
                failures += 1
                log.error("dead-letter publish failed", extra={"error": type(exc).__name__})
                if await self._pause(self._backoff.delay(failures)):
                    return False
                continue
            log.warning(
                "record dead-lettered",
                extra={
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                    "reason": reason,
                },
            )
            return True
