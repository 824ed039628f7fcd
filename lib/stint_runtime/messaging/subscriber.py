"""Consuming events: handler + inbox mark in one unit of work, then the commit; dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from google.protobuf.message import Message
from opentelemetry import trace
from opentelemetry.context import Context
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime import metrics
from stint_runtime.errors import DomainError
from stint_runtime.failures import is_transient
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.envelope import (
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
from stint_runtime.readiness import Readiness
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
DATABASE_PART = "event handlers"
DEAD_LETTER_PART = "dead letters"
BROKER_PART = "event fetching"

log = logging.getLogger("stint.kafka")
tracer = trace.get_tracer("stint.kafka")


class _AlreadyAppliedError(Exception):
    """The inbox already holds this event id for this group."""


@dataclass
class _RecordState:
    """What is known of the record in hand across its attempts."""

    envelope: EventEnvelope | None = None
    event: Message | None = None
    attempts: int = 0  # deterministic failures: the budget before the dead-letter topic
    outage: int = 0  # transient failures in a row: retried for as long as they last
    dead_letter_reason: str | None = None
    dead_letter_failures: int = 0


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

    Per record: the envelope and its event are decoded (anything undecodable goes to the
    dead-letter topic at once), its handler and an inbox mark "<group>:<event id>" run in one
    unit of work in a worker thread (a duplicate mark means the effect is already applied), and
    only then the offset is committed. A transient failure (database or broker outage, write
    conflict) is retried with capped backoff for as long as it lasts, reported to `readiness`;
    a deterministic one spends an attempt, and after `max_attempts` the record goes to
    "<group>.<topic>.dlt" and the partition moves on. A dead-letter publish that fails is
    retried the same way, never committed past. Types without a handler are skipped.
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
        readiness: Readiness | None = None,
        dead_letter_timeout: float = 10.0,
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
        self._readiness = readiness or Readiness(grace_seconds=0)
        self._dead_letter_timeout = dead_letter_timeout
        self._committed: dict[TopicPartition, int] = {}
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
        readiness: Readiness | None = None,
    ) -> Subscriber:
        """A subscriber for a service, in settings.consumer_group unless told otherwise."""
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group_id or settings.consumer_group,
            topics=topics,
            handlers=handlers,
            uow_factory=uow_factory,
            dead_letters=dead_letters,
            max_attempts=settings.kafka_max_attempts,
            backoff=Backoff(
                settings.kafka_retry_backoff_seconds, settings.kafka_retry_backoff_max_seconds
            ),
            client_id=f"stint-{settings.service_name}",
            readiness=readiness,
            dead_letter_timeout=settings.dead_letter_timeout_seconds,
            session_timeout_ms=settings.kafka_session_timeout_ms,
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
        """Consume until stop() is called (or the loop fails).

        Cancelling run() does not cancel the consuming: only stop() ends it, in order (finish
        the record in hand, commit it, leave the group).
        """
        await self.start()
        assert self._task is not None
        await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Stop fetching, finish the record in hand, commit it, leave the group, close."""
        self._stopping.set()
        try:
            if self._task is not None:
                task, self._task = self._task, None
                with contextlib.suppress(Exception):
                    await task
        finally:
            if self._consumer is not None:
                consumer, self._consumer = self._consumer, None
                await consumer.stop()  # leaves the group: its partitions move at once

    async def wait_assigned(self) -> None:
        """Wait until the group join gave this member partitions (for tests and readiness)."""
        await self.assigned.wait()

    async def _consume(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=POLL_TIMEOUT_MS)
            except KafkaError as exc:
                failures += 1
                self._readiness.degraded(BROKER_PART, type(exc).__name__)
                log.error("fetch failed", extra={"error": type(exc).__name__})
                await self._pause(self._backoff.delay(failures))
                continue
            failures = 0
            self._readiness.recovered(BROKER_PART)
            for tp, records in batches.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    if not await self._handle(tp, record):
                        break  # stopping, or the partition moved to another member
                self._record_lag(tp)

    async def _handle(self, tp: TopicPartition, record: Record) -> bool:
        """Process and commit one record; False when stop() or a revoke interrupted it.

        Each attempt runs under the processing lock (a revoke waits for it, so nothing
        processed stays uncommitted); waits between attempts do not hold it.
        """
        state = self._decode(record)
        with tracer.start_as_current_span(
            f"{record.topic} process",
            context=self._producer_context(record, state.envelope),
            kind=trace.SpanKind.CONSUMER,
            attributes=self._span_attributes(record, state.envelope),
        ) as span:
            while True:
                async with self.processing:
                    # Checked under the lock a revoke takes: a partition handed to another
                    # member meanwhile is neither processed nor committed here.
                    if tp not in self._consumer.assignment():
                        return False
                    delay = await self._attempt(record, state)
                    if delay is None:
                        await self._commit(tp, record.offset + 1)
                        if state.dead_letter_reason is not None:
                            span.set_status(trace.StatusCode.ERROR, state.dead_letter_reason)
                        return True
                if await self._pause(delay):
                    return False

    def _decode(self, record: Record) -> _RecordState:
        """The record's envelope and event; anything undecodable is marked for dead-lettering."""
        state = _RecordState()
        try:
            state.envelope = decode_envelope(record.value)
            if state.envelope.type in self._handlers:
                state.event = unpack(state.envelope)
        except Exception as exc:  # whatever the bytes are, they never stop the partition
            state.dead_letter_reason = f"undecodable: {type(exc).__name__}: {exc}"
            state.attempts = 1
        return state

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        try:
            await self._consumer.commit({tp: offset})
            self._committed[tp] = offset
        except (CommitFailedError, KafkaError) as exc:
            # The partition moved to another member, which resumes from the last commit;
            # the inbox makes the redelivered records harmless.
            log.warning("offset commit failed", extra={"error": type(exc).__name__})

    async def _attempt(self, record: Record, state: _RecordState) -> float | None:
        """One step for a record: None when it is done, else seconds to wait before the next."""
        if state.dead_letter_reason is not None:
            return await self._dead_letter(record, state)
        envelope, event = state.envelope, state.event
        assert envelope is not None
        if event is None:
            log.debug("no handler; skipped", extra={"event_type": envelope.type})
            self._count(record, envelope.type, "skipped")
            return None
        try:
            applied = await asyncio.to_thread(
                self._apply, self._handlers[envelope.type], event, envelope
            )
        except Exception as exc:
            return self._failed(state, exc)
        self._readiness.recovered(DATABASE_PART)
        self._count(record, envelope.type, "applied" if applied else "duplicate")
        return None

    def _failed(self, state: _RecordState, exc: Exception) -> float:
        """Transient: wait and retry for as long as it lasts. Deterministic: spend an attempt."""
        envelope = state.envelope
        assert envelope is not None
        details = {"event_id": envelope.id, "event_type": envelope.type}
        if is_transient(exc):
            state.outage += 1
            self._readiness.degraded(DATABASE_PART, type(exc).__name__)
            log.warning(
                "event handler met an outage; retrying",
                extra={**details, "error": type(exc).__name__, "retries": state.outage},
            )
            return self._backoff.delay(state.outage)
        state.attempts += 1
        log.warning(
            "event handler failed",
            extra={**details, "attempt": state.attempts, "error": type(exc).__name__},
        )
        if state.attempts < self._max_attempts:
            return self._backoff.delay(state.attempts)
        # Only the domain's own messages are repeated: others might quote the event's data.
        detail = f": {exc.message}" if isinstance(exc, DomainError) else ""
        state.dead_letter_reason = f"handler raised {type(exc).__name__}{detail}"
        return 0.0

    @staticmethod
    def _producer_context(record: Record, envelope: EventEnvelope | None) -> Context | None:
        """The trace context of whoever produced the record: its headers, else its envelope."""
        if "traceparent" in headers_as_carrier(record.headers):
            return context_from_headers(record.headers)
        return context_from_envelope(envelope) if envelope is not None else None

    def _span_attributes(self, record: Record, envelope: EventEnvelope | None) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": record.topic,
            "messaging.consumer.group.name": self.group_id,
            "messaging.destination.partition.id": str(record.partition),
            "messaging.kafka.offset": record.offset,
        }
        if envelope is not None:
            attributes["messaging.message.id"] = envelope.id
            attributes["cloudevents.event_type"] = envelope.type
        return attributes

    def _apply(self, handler: Handler, event: Message, envelope: EventEnvelope) -> bool:
        """Worker thread: handler and inbox mark in one unit of work; False for a duplicate."""

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
            return False
        return True

    async def _pause(self, seconds: float) -> bool:
        """Sleep, or return True at once when stop() is called."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _dead_letter(self, record: Record, state: _RecordState) -> float | None:
        """Publish to the dead-letter topic (bounded wait); a failure is retried after a backoff."""
        reason = state.dead_letter_reason or "unknown"
        topic = dead_letter_topic(self.group_id, record.topic)
        headers = dead_letter_headers(
            record, group_id=self.group_id, reason=reason, attempts=state.attempts
        )
        try:
            await asyncio.wait_for(
                self._dead_letters.publish(topic, record.key, record.value, headers),
                self._dead_letter_timeout,
            )
        except (KafkaError, TimeoutError) as exc:
            state.dead_letter_failures += 1
            self._readiness.degraded(DEAD_LETTER_PART, type(exc).__name__)
            log.error(
                "dead-letter publish failed; retrying",
                extra={"error": type(exc).__name__, "failures": state.dead_letter_failures},
            )
            return self._backoff.delay(state.dead_letter_failures)
        self._readiness.recovered(DEAD_LETTER_PART)
        metrics.dead_letters.add(1, {"topic": record.topic, "group": self.group_id})
        self._count(record, state.envelope.type if state.envelope else "", "dead_lettered")
        log.warning(
            "record dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        return None

    def _count(self, record: Record, event_type: str, outcome: str) -> None:
        metrics.events_processed.add(
            1,
            {"topic": record.topic, "group": self.group_id, "type": event_type, "outcome": outcome},
        )

    def _record_lag(self, tp: TopicPartition) -> None:
        """stint_consumer_lag: the partition's end offset minus this member's committed offset."""
        if self._consumer is None or tp not in self._consumer.assignment():
            return
        end, committed = self._consumer.highwater(tp), self._committed.get(tp)
        if end is None or committed is None:
            return
        metrics.consumer_lag.set(
            max(0, end - committed),
            {"topic": tp.topic, "partition": str(tp.partition), "group": self.group_id},
        )
