"""Outbox relay throughput beside a bare publish loop, measured in the same run.

N committed events wait in an outbox; the relay (lease on the database clock, renewed during a
pass, per-aggregate ordering, failure bookkeeping) drains it. The baseline publishes the same
envelopes with the same producer in a loop and marks them published with one update, nothing
else. Events per second of each, and their ratio.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from google.protobuf.wrappers_pb2 import StringValue
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import SystemClock
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.persistence.mongo import Client, Document, connect
from stint_runtime.persistence.outbox import OutboxRelay, ensure_outbox_indexes
from stint_runtime.persistence.unit_of_work import OUTBOX, outbox_record
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

from tools.bench.listings_search import infrastructure, say

EVENTS = 2_000
AGGREGATES = 200


def stage(client: Client, database: str, topic: str) -> list[Document]:
    """EVENTS events over AGGREGATES aggregates, in the outbox as a service leaves them."""
    ensure_outbox_indexes(client[database][OUTBOX])
    records = []
    for n in range(EVENTS):
        envelope = new_envelope(
            StringValue(value=f"event {n}"),
            source="bench",
            subject=f"agg-{n % AGGREGATES}",
            clock=SystemClock(),
            sequence=n // AGGREGATES + 1,
        )
        records.append(outbox_record(envelope, topic))
    client[database][OUTBOX].insert_many(records)
    return records


async def relay_rate(client: Client, publisher: KafkaPublisher, topic: str) -> float:
    database = f"bench_relay_{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(stage, client, database, topic)
    relay = OutboxRelay(client, database, publisher)
    started = time.perf_counter()
    while await relay.relay_once():
        pass
    elapsed = time.perf_counter() - started
    assert relay.pending_count() == 0
    return EVENTS / elapsed


async def bare_rate(client: Client, publisher: KafkaPublisher, topic: str) -> float:
    database = f"bench_bare_{uuid.uuid4().hex[:8]}"
    records = await asyncio.to_thread(stage, client, database, topic)
    started = time.perf_counter()
    for record in records:
        envelope = EventEnvelope.FromString(bytes(record["envelope"]))
        await publisher.publish_envelope(topic, envelope)
    ids = [record["_id"] for record in records]
    outbox = client[database][OUTBOX]
    await asyncio.to_thread(
        outbox.update_many, {"_id": {"$in": ids}}, {"$set": {"published_at": 1}}
    )
    return EVENTS / (time.perf_counter() - started)


async def measure(endpoints: Endpoints) -> None:
    client = connect(StintSettings(mongodb_uri=endpoints.mongodb_uri, service_name="bench"))
    topic = f"bench-relay-{uuid.uuid4().hex[:8]}"
    await ensure_topics(endpoints.kafka_bootstrap_servers, [topic])
    async with KafkaPublisher(endpoints.kafka_bootstrap_servers, client_id="bench") as publisher:
        await publisher.publish(topic, b"warm-up", b"")  # metadata and connections first
        bare = await bare_rate(client, publisher, topic)
        relay = await relay_rate(client, publisher, topic)
    client.close()
    say(f"{EVENTS} events over {AGGREGATES} aggregates, one producer (acks=all)")
    say(f"  bare publish loop + one update:   {bare:8.0f} events/s")
    say(f"  outbox relay (lease, ordering):   {relay:8.0f} events/s   ({relay / bare:.2f}x bare)")


def run() -> None:
    with infrastructure() as endpoints:
        asyncio.run(measure(endpoints))
