"""The relay under faults: unsendable records, skewed writer clocks, two relays, a slow broker."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from bson import Binary
from google.protobuf.wrappers_pb2 import StringValue
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.outbox import OutboxRelay
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWorkFactory, outbox_record
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import envelopes, read_all, read_topic, wait_for

pytestmark = pytest.mark.integration

NO_BACKOFF = Backoff(0.0, 0.0)


def stage(factory: UnitOfWorkFactory, topic: str, subject: str, sequence: int) -> EventEnvelope:
    """An event of `subject` committed to the outbox as a service would."""
    envelope = new_envelope(
        StringValue(value=f"{subject}#{sequence}"),
        source="test",
        subject=subject,
        clock=ManualClock(),
        sequence=sequence,
    )
    factory.db[OUTBOX].insert_one(outbox_record(envelope, topic))
    return envelope


def published(records: list[Any]) -> list[str]:
    return [StringValue.FromString(e.data.value).value for e in envelopes(records)]


async def test_an_unsendable_record_stalls_only_its_key_and_is_parked_after_its_attempts(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=1)
    bad = stage(factory, topic, "bad", 1)
    factory.db[OUTBOX].update_one({"_id": bad.id}, {"$set": {"envelope": Binary(b"\xff\xff")}})
    stage(factory, topic, "bad", 2)
    for n in range(1, 4):
        stage(factory, topic, "good", n)

    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        relay = OutboxRelay(mongo, unique_name, publisher, max_attempts=3, backoff=NO_BACKOFF)
        assert await relay.relay_once() == 3  # "good" moves; "bad" waits behind its first event
        assert relay.status().pending == 2
        assert await relay.relay_once() == 0
        assert await relay.relay_once() == 1  # third failure parks it; its key moves on
        status = relay.status()
        assert (status.pending, status.parked) == (0, 1)

    parked = factory.db[OUTBOX].find_one({"_id": bad.id})
    assert parked is not None
    assert parked["attempts"] == 3
    assert parked["parked_reason"].startswith("DecodeError")
    records = await read_topic(infra.kafka_bootstrap_servers, topic, until=lambda rs: len(rs) >= 4)
    assert published(records) == ["good#1", "good#2", "good#3", "bad#2"]


async def test_a_record_over_the_size_limit_is_parked_and_the_rest_keep_moving(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=1)
    huge = new_envelope(
        StringValue(value="x" * 2_000_000), source="test", subject="huge", clock=ManualClock()
    )
    factory.db[OUTBOX].insert_one(outbox_record(huge, topic))
    stage(factory, topic, "small", 1)

    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        relay = OutboxRelay(mongo, unique_name, publisher, max_attempts=1, backoff=NO_BACKOFF)
        assert await relay.relay_once() == 1
    parked = factory.db[OUTBOX].find_one({"_id": huge.id})
    assert parked is not None
    assert parked["parked_reason"].startswith("MessageSizeTooLargeError")


async def test_an_aggregates_events_go_out_by_its_sequence_whatever_the_writers_clocks(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=1)
    second = stage(factory, topic, "agg", 2)
    first = stage(factory, topic, "agg", 1)
    # The replica that wrote sequence 1 has a clock behind the one that wrote sequence 2.
    later = factory.db[OUTBOX].find_one({"_id": second.id})
    assert later is not None
    factory.db[OUTBOX].update_one({"_id": first.id}, {"$set": {"order": later["order"] + 10**9}})

    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        relay = OutboxRelay(mongo, unique_name, publisher, batch_size=1)
        assert await relay.relay_once() == 2
    records = await read_topic(infra.kafka_bootstrap_servers, topic, until=lambda rs: len(rs) >= 2)
    assert published(records) == ["agg#1", "agg#2"]


class SlowPublisher:
    """The real publisher behind a slow link: every send waits `delay` seconds first."""

    def __init__(self, real: KafkaPublisher, delay: float) -> None:
        self.real = real
        self.delay = delay

    async def publish_envelope(self, topic: str, envelope: EventEnvelope) -> None:
        await asyncio.sleep(self.delay)
        await self.real.publish_envelope(topic, envelope)


async def test_two_relays_and_a_slow_broker_never_publish_a_record_twice(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=1)
    count = 24
    for n in range(count):
        stage(factory, topic, f"s{n}", 1)
    lease = timedelta(seconds=1)  # a pass takes several lease lifetimes
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        slow: Any = SlowPublisher(publisher, delay=0.25)
        relays = [
            OutboxRelay(mongo, unique_name, slow, lease_ttl=lease, poll_interval=0.05)
            for _ in range(2)
        ]
        for relay in relays:
            await relay.start()
        try:
            await wait_for(lambda: relays[0].pending_count() == 0, limit=60, what="all published")
        finally:
            for relay in relays:
                await relay.stop()

    records = await read_all(infra.kafka_bootstrap_servers, topic)
    copies = Counter(envelope.id for envelope in envelopes(records))
    assert len(copies) == count
    assert max(copies.values()) == 1, "a record was published by both relays"
