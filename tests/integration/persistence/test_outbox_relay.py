"""The outbox relay against the real broker and database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from stint_runtime.messaging.envelope import unpack
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.outbox import LEASES, OutboxRelay
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork, UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import envelopes, header, read_topic, wait_for

pytestmark = pytest.mark.integration


def place(topic: str, order: str) -> Callable[[UnitOfWork], None]:
    def unit(uow: UnitOfWork) -> None:
        uow.insert("orders", {"_id": order, "version": 1})
        uow.emit(StringValue(value=order), subject=order, sequence=1, topic=topic)

    return unit


async def test_relay_publishes_committed_events_with_cloudevents_headers(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic])
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        # Polling once an hour: only the commit's wake-up can publish within the test.
        relay = OutboxRelay(mongo, unique_name, publisher, poll_interval=3600.0)
        relay.attach(factory)
        await relay.start()
        try:
            await wait_for(lambda: relay.passes == 1, limit=10, what="the first pass")
            await asyncio.to_thread(factory.run, place(topic, "o1"))
            await wait_for(lambda: relay.pending_count() == 0, limit=30, what="relay woken")
            await wait_for(lambda: relay.passes >= 2, limit=10, what="the woken pass to end")
            assert relay.passes == 2, "exactly one pass more: the one the commit woke"
        finally:
            await relay.stop()

    [record] = await read_topic(infra.kafka_bootstrap_servers, topic, until=lambda rs: len(rs) > 0)
    [envelope] = envelopes([record])
    assert record.key == b"o1"
    assert unpack(envelope) == StringValue(value="o1")
    assert header(record, "ce_id") == envelope.id
    assert header(record, "ce_type") == "google.protobuf.StringValue"
    assert header(record, "ce_source") == "stint/testsvc"
    assert header(record, "content-type") == "application/protobuf"
    stored = factory.db[OUTBOX].find_one({"_id": envelope.id})
    assert stored is not None
    assert stored["published_at"] is not None


async def test_only_the_lease_holder_relays_and_a_dead_holders_lease_expires(
    infra: Endpoints, mongo: Client, factory: UnitOfWorkFactory, unique_name: str
) -> None:
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic])
    await asyncio.to_thread(factory.run, place(topic, "o1"))
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        dead = OutboxRelay(mongo, unique_name, publisher, lease_ttl=timedelta(minutes=5))
        standby = OutboxRelay(mongo, unique_name, publisher, lease_ttl=timedelta(minutes=5))
        assert await asyncio.to_thread(dead.lease.acquire)  # then "dies" holding it

        assert await standby.relay_once() == 0
        assert not await asyncio.to_thread(standby.lease.renew)
        assert standby.pending_count() == 1

        # The dead holder's lease runs out by the database's clock (no replica's own).
        factory.db[LEASES].update_one(
            {"_id": dead.lease.name}, [{"$set": {"expires_at": {"$subtract": ["$$NOW", 1000]}}}]
        )
        assert await standby.relay_once() == 1
        assert standby.pending_count() == 0
        assert not await asyncio.to_thread(dead.lease.acquire), "the lease has a new owner"
        assert not await asyncio.to_thread(dead.lease.renew), "and the old one cannot renew it"


async def test_events_published_but_not_marked_are_published_again(
    infra: Endpoints,
    mongo: Client,
    factory: UnitOfWorkFactory,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At least once: losing the 'published' marks (database down, crash) republishes."""
    topic = unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic])
    for order in ("o1", "o2", "o3"):
        await asyncio.to_thread(factory.run, place(topic, order))
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="relay") as publisher:
        relay = OutboxRelay(mongo, unique_name, publisher)

        def database_down(ids: list[str]) -> None:
            raise ConnectionError("database unreachable")

        with monkeypatch.context() as patch:
            patch.setattr(relay, "_mark_published", database_down)
            with pytest.raises(ConnectionError):
                await relay.relay_once()
        assert relay.pending_count() == 3
        assert await relay.relay_once() == 3
        assert relay.pending_count() == 0

    records = await read_topic(infra.kafka_bootstrap_servers, topic, until=lambda rs: len(rs) >= 6)
    keys = [record.key for record in records]
    assert sorted(keys) == [b"o1", b"o1", b"o2", b"o2", b"o3", b"o3"]
    assert len({envelope.id for envelope in envelopes(records)}) == 3
