"""The subscriber against the real broker and database: dedupe, skipping, dead letters, tracing."""

from __future__ import annotations

import asyncio
import threading

import pytest
from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import dead_letter_topic, ensure_topics
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.telemetry import configure_telemetry

from tests.support.messaging_kit import (
    MAX_ATTEMPTS,
    SubscriberMaker,
    committed_offset,
    count,
    counts,
    envelope_of,
    header,
    read_topic,
    settings_for,
    wait_committed,
    wait_for,
)

pytestmark = pytest.mark.integration

STRING = StringValue.DESCRIPTOR.full_name
INT64 = Int64Value.DESCRIPTOR.full_name


async def test_the_same_event_delivered_twice_is_applied_once(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    first, second = envelope_of(StringValue(value="a"), "s1"), envelope_of(StringValue(), "s2")
    for envelope in (first, first, second, first):
        await publisher.publish_envelope(topic, envelope)

    await subscribe({STRING: count}).start()
    await wait_committed(infra.kafka_bootstrap_servers, topic, 4)

    assert counts(factory) == {"s1": 1, "s2": 1}
    inbox = {doc["_id"] for doc in factory.db.inbox.find()}
    assert inbox == {f"{topic}:{first.id}", f"{topic}:{second.id}"}


async def test_events_without_a_handler_are_skipped_and_committed(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    await publisher.publish_envelope(topic, envelope_of(Int64Value(value=1), "s1"))
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="b"), "s2"))

    await subscribe({STRING: count}).start()
    await wait_committed(infra.kafka_bootstrap_servers, topic, 2)

    assert counts(factory) == {"s2": 1}


async def test_poison_records_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    calls: list[str] = []

    def always_fails(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
        calls.append(envelope.id)
        count(event, envelope, uow)  # rolled back with the failed unit of work
        raise RuntimeError("cannot process")

    failing = envelope_of(Int64Value(value=7), "s-fail")
    await publisher.publish(topic, b"k-garbage", b"\x00not an envelope", [("origin", b"x")])
    await publisher.publish_envelope(topic, failing)
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="ok"), "s-ok"))

    await subscribe({STRING: count, INT64: always_fails}).start()
    await wait_committed(infra.kafka_bootstrap_servers, topic, 3)

    assert counts(factory) == {"s-ok": 1}
    assert calls == [failing.id] * MAX_ATTEMPTS
    dead = await read_topic(
        infra.kafka_bootstrap_servers,
        dead_letter_topic(topic, topic),
        until=lambda records: len(records) >= 2,
    )
    garbage, failed = dead
    assert (garbage.key, garbage.value) == (b"k-garbage", b"\x00not an envelope")
    assert header(garbage, "origin") == "x"
    assert header(
        garbage,
        "dlt-reason",
    ).startswith("undecodable")  # type: ignore[union-attr]
    assert header(garbage, "dlt-attempts") == "1"
    assert (header(garbage, "dlt-original-topic"), header(garbage, "dlt-original-offset")) == (
        topic,
        "0",
    )
    assert EventEnvelope.FromString(failed.value) == failing
    assert header(failed, "dlt-reason") == "handler raised RuntimeError"
    assert header(failed, "dlt-attempts") == str(MAX_ATTEMPTS)
    assert header(failed, "dlt-original-partition") == "0"
    assert header(failed, "dlt-original-offset") == "1"


async def test_one_trace_from_the_producer_through_the_consumer_to_emitted_events(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    exporter = InMemorySpanExporter()
    configure_telemetry(settings_for(infra), exporter=exporter)
    seen: dict[str, int] = {}

    def traced(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
        seen["trace_id"] = trace.get_current_span().get_span_context().trace_id
        emitted = uow.emit(StringValue(value="next"), subject="s2", topic=topic)
        seen["emitted_traceparent_trace_id"] = int(emitted.traceparent.split("-")[1], 16)

    with trace.get_tracer("test").start_as_current_span("request") as request:
        await publisher.publish_envelope(topic, envelope_of(StringValue(value="a"), "s1"))
    await subscribe({STRING: traced}).start()
    await wait_committed(infra.kafka_bootstrap_servers, topic, 1)

    trace_id = request.get_span_context().trace_id
    assert seen == {"trace_id": trace_id, "emitted_traceparent_trace_id": trace_id}
    spans = {span.name: span for span in exporter.get_finished_spans()}
    producer, consumer = spans[f"{topic} publish"], spans[f"{topic} process"]
    assert producer.kind == trace.SpanKind.PRODUCER
    assert consumer.kind == trace.SpanKind.CONSUMER
    assert producer.parent is not None
    assert producer.parent.span_id == request.get_span_context().span_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.context.trace_id == trace_id


async def test_stop_finishes_the_record_in_flight_and_commits_it(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
        entered.set()
        assert release.wait(timeout=30), "never released"
        count(event, envelope, uow)

    await publisher.publish_envelope(topic, envelope_of(StringValue(value="a"), "s1"))
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="b"), "s2"))
    subscriber = subscribe({STRING: slow})
    await subscriber.start()
    await wait_for(entered.is_set, limit=30, what="the handler to start")

    stopping = asyncio.create_task(subscriber.stop())
    # Instead of a pause: a full round trip to the broker while the record is held, which
    # also shows nothing was committed for it, and gives a stop() that does not wait the time
    # to leave the group and return.
    assert await committed_offset(infra.kafka_bootstrap_servers, topic, topic) is None
    assert not stopping.done(), "stop() returned with a record in flight"
    release.set()
    await asyncio.wait_for(stopping, timeout=30)

    assert counts(factory) == {"s1": 1}, "the in-flight record finished, no new one started"
    assert await committed_offset(infra.kafka_bootstrap_servers, topic, topic) == 1


async def test_a_member_joining_mid_stream_loses_nothing_and_applies_everything_once(
    infra: Endpoints,
    unique_name: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    topic = f"{unique_name}_rebalance"
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=2)
    subjects = [f"s{n}" for n in range(40)]

    await subscribe({STRING: count}, [topic]).start()
    for subject in subjects[:20]:
        await publisher.publish_envelope(topic, envelope_of(StringValue(), subject))
    second = subscribe({STRING: count}, [topic])
    await second.start()
    for subject in subjects[20:]:
        await publisher.publish_envelope(topic, envelope_of(StringValue(), subject))

    await wait_for(lambda: len(counts(factory)) == len(subjects), limit=60, what="all applied")
    await wait_for(second.assigned.is_set, limit=30, what="the second member's partitions")
    assert counts(factory) == dict.fromkeys(subjects, 1)
