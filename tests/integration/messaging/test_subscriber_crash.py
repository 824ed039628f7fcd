"""A consumer killed after applying an effect but before committing the offset: applied once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pymongo import MongoClient
from pymongo.collection import Collection
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import dead_letter_topic, ensure_topics
from stint_runtime.persistence.mongo import Document
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import (
    committed_offset,
    start_child,
    wait_exit,
    wait_for,
    wait_for_line,
)

WORKER = "tests.support.messaging_consumer_worker"

pytestmark = pytest.mark.integration


async def test_redelivered_after_a_crash_between_effect_and_commit_applied_once(
    infra: Endpoints, publisher: KafkaPublisher, unique_name: str, tmp_path: Path
) -> None:
    topic = group = database = unique_name
    await ensure_topics(
        infra.kafka_bootstrap_servers, [topic, dead_letter_topic(group, topic)], partitions=1
    )
    event = new_envelope(StringValue(value="hi"), source="test", subject="s1", clock=ManualClock())
    await publisher.publish_envelope(topic, event)
    args = [infra.kafka_bootstrap_servers, infra.mongodb_uri, database, topic, group]
    counters: Collection[Document] = MongoClient(infra.mongodb_uri)[database].counters

    crashing = start_child(WORKER, ["crash", *args], tmp_path / "crash.log")
    assert await wait_exit(crashing, limit=60, log_path=tmp_path / "crash.log") == -9
    assert counters.find_one({"_id": "s1"}) == {"_id": "s1", "count": 1}
    assert await committed_offset(infra.kafka_bootstrap_servers, group, topic) is None

    restarted = start_child(WORKER, ["serve", *args], tmp_path / "serve.log")
    try:

        async def committed() -> bool:
            return await committed_offset(infra.kafka_bootstrap_servers, group, topic) == 1

        await wait_for(committed, limit=60, what="the redelivered event to be committed")
    finally:
        restarted.send_signal(signal.SIGTERM)
    await wait_for_line(restarted, "stopped", limit=30, log_path=tmp_path / "serve.log")
    assert await wait_exit(restarted, limit=10, log_path=tmp_path / "serve.log") == 0
    assert counters.find_one({"_id": "s1"}) == {"_id": "s1", "count": 1}
