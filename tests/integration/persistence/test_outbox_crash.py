"""The transactional outbox across SIGKILLs: committed events are published, aborted ones never."""

from __future__ import annotations

import signal
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pymongo import MongoClient
from pymongo.database import Database
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Subscriber
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import (
    count,
    counts,
    envelopes,
    read_all,
    read_topic,
    start_child,
    wait_exit,
    wait_for,
    wait_for_line,
)
from tests.support.persistence_outbox_worker import HANGING_ORDER

WORKER = "tests.support.persistence_outbox_worker"
ORDERS = 20

pytestmark = pytest.mark.integration


async def test_events_committed_before_a_sigkill_are_published_by_a_restarted_relay(
    infra: Endpoints, unique_name: str, tmp_path: Path
) -> None:
    topic, database = unique_name, unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=3)

    committer = start_child(
        WORKER,
        ["commit", infra.mongodb_uri, database, topic, str(ORDERS)],
        tmp_path / "commit.log",
    )
    await wait_for_line(committer, "committed", limit=60, log_path=tmp_path / "commit.log")
    committer.send_signal(signal.SIGKILL)
    assert await wait_exit(committer, limit=10, log_path=tmp_path / "commit.log") == -9

    hanging = start_child(
        WORKER, ["hang", infra.mongodb_uri, database, topic], tmp_path / "hang.log"
    )
    await wait_for_line(hanging, "in-transaction", limit=60, log_path=tmp_path / "hang.log")
    hanging.send_signal(signal.SIGKILL)
    assert await wait_exit(hanging, limit=10, log_path=tmp_path / "hang.log") == -9

    db: Database[Document] = MongoClient(infra.mongodb_uri)[database]
    orders = {doc["_id"] for doc in db.orders.find()}
    outbox = {doc["_id"]: doc["key"] for doc in db.outbox.find()}
    assert len(orders) == ORDERS
    assert HANGING_ORDER not in orders, "the killed transaction left no state"
    assert len(outbox) == 2 * ORDERS
    assert set(outbox.values()) == orders, "and no event"
    assert db.outbox.count_documents({"published_at": None}) == 2 * ORDERS, "nothing relayed yet"

    relay = start_child(
        WORKER,
        ["relay", infra.mongodb_uri, database, infra.kafka_bootstrap_servers],
        tmp_path / "relay.log",
    )
    await wait_for_line(relay, "drained", limit=60, log_path=tmp_path / "relay.log")
    assert await wait_exit(relay, limit=30, log_path=tmp_path / "relay.log") == 0

    records = await read_topic(
        infra.kafka_bootstrap_servers,
        topic,
        until=lambda rs: set(outbox) <= {e.id for e in envelopes(rs)},
    )
    published = envelopes(records)
    assert {e.subject for e in published} == orders, "no event without its committed change"
    sequences: dict[str, list[int]] = defaultdict(list)
    for record, envelope in zip(records, published, strict=True):
        assert record.key == envelope.subject.encode()
        sequences[envelope.subject].append(envelope.sequence)
    for order, seen in sequences.items():
        assert seen == sorted(seen), f"{order} out of order: {seen}"


CRASH_BATCH = 10
CRASH_ARG = str(CRASH_BATCH)


async def test_a_relay_killed_between_the_brokers_ack_and_its_marks_duplicates_only_that_batch(
    infra: Endpoints, unique_name: str, tmp_path: Path
) -> None:
    """Every event is published; only the killed relay's batch twice; consumers apply it once."""
    topic, database = unique_name, unique_name
    await ensure_topics(infra.kafka_bootstrap_servers, [topic], partitions=3)
    committer = start_child(
        WORKER, ["commit", infra.mongodb_uri, database, topic, str(ORDERS)], tmp_path / "c.log"
    )
    await wait_for_line(committer, "committed", limit=60, log_path=tmp_path / "c.log")
    committer.send_signal(signal.SIGKILL)
    await wait_exit(committer, limit=10, log_path=tmp_path / "c.log")
    db: Database[Document] = MongoClient(infra.mongodb_uri)[database]
    first_batch = {doc["_id"] for doc in db.outbox.find().sort("order", 1).limit(CRASH_BATCH)}

    dying = start_child(
        WORKER,
        ["relay-crash", infra.mongodb_uri, database, infra.kafka_bootstrap_servers, CRASH_ARG],
        tmp_path / "dying.log",
    )
    assert await wait_exit(dying, limit=60, log_path=tmp_path / "dying.log") == -9
    assert db.outbox.count_documents({"published_at": None}) == 2 * ORDERS, "nothing was marked"
    relay = start_child(
        WORKER,
        ["relay", infra.mongodb_uri, database, infra.kafka_bootstrap_servers],
        tmp_path / "relay.log",
    )
    await wait_for_line(relay, "drained", limit=60, log_path=tmp_path / "relay.log")
    assert await wait_exit(relay, limit=30, log_path=tmp_path / "relay.log") == 0

    records = await read_all(infra.kafka_bootstrap_servers, topic)
    copies = Counter(envelope.id for envelope in envelopes(records))
    assert set(copies) == set(db.outbox.distinct("_id")), "every committed event is published"
    assert {event for event, n in copies.items() if n > 1} == first_batch
    assert max(copies.values()) == 2

    factory = UnitOfWorkFactory(MongoClient(infra.mongodb_uri), database, "test", ManualClock())
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="dlt") as dead_letters:
        consumer = Subscriber(
            bootstrap_servers=infra.kafka_bootstrap_servers,
            group_id=f"{topic}-consumer",
            topics=[topic],
            handlers={StringValue.DESCRIPTOR.full_name: count},
            uow_factory=factory,
            dead_letters=dead_letters,
        )
        await consumer.start()
        try:
            await wait_for(
                lambda: sum(counts(factory).values()) == 2 * ORDERS, limit=60, what="all applied"
            )
            await wait_for(
                lambda: factory.db.inbox.count_documents({}) == 2 * ORDERS, limit=10, what="inbox"
            )
        finally:
            await consumer.stop()
    assert counts(factory) == {order: 2 for order in {doc["key"] for doc in db.outbox.find()}}
