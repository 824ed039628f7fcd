"""The real listings service's consumer killed after an event's effect, before its offset commit.

The service is frozen (SIGSTOP) as soon as an event's effect is visible; when its offset is
not yet committed at that moment the window was hit, and the service is killed (SIGKILL) there.
The restarted service gets the event again and must not apply it twice; its offset then commits.
Commits are read for the test's own record (its partition and offset), so records other tests
publish to the topic meanwhile neither hide nor fake the window.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import RecordMetadata
from pymongo import MongoClient
from stint.applications.v1.events_pb2 import EngagementStarted
from stint.listings.v1 import service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import INBOX, inbox_id
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

from tests.listings.api.kit import ApplicationsStandIn, ListingsClient, engagement_event
from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ATTEMPTS = 150  # the window is a broker round trip wide: hit in 1 of 5 to 15 tries here


@pytest.fixture
def settings(infra: Endpoints) -> StintSettings:
    """The service in a consumer group of its own, from the topics' end (no session backlog)."""
    settings = settings_for_test("listings", infra, "crash")
    return own_group_settings(settings)


@pytest.fixture
def listings_process(settings: StintSettings, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(settings, tmp_path)
    yield process
    if process.process is not None and process.process.pid is not None:
        process.process.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    process.stop()


async def committed_past(settings: StintSettings, record: RecordMetadata) -> bool:
    """Whether the service's group has committed `record` (its offset is behind the commit)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partition = TopicPartition(record.topic, record.partition)
        committed: int = await consumer.committed(partition) or 0
        return committed > int(record.offset)
    finally:
        await consumer.stop()


async def test_a_kill_after_the_effect_before_the_offset_commit_applies_the_event_once(
    listings_process: ServiceProcess, settings: StintSettings
) -> None:
    mongo: MongoClient[dict[str, Any]] = MongoClient(settings.mongodb_uri)
    db = mongo[settings.database_name]
    publisher = KafkaPublisher(settings.kafka_bootstrap_servers, client_id="test-crash")
    await publisher.start()
    started: list[str] = []
    try:
        process = listings_process.start()
        async with insecure_channel(settings.grpc_address) as channel:
            await listings_process.wait_serving(channel)
            client = ListingsClient(
                service_pb2_grpc.ListingsServiceStub(channel), settings, SystemClock()
            )
            listing = await client.published(seats=2)
        applications = ApplicationsStandIn(publisher, SystemClock())
        assert process.process is not None
        for attempt in range(ATTEMPTS):
            started.append(f"eng-{attempt}")
            event = engagement_event(EngagementStarted, listing.id, started[-1])
            envelope = applications.envelope(event, started[-1])
            record = await publisher.publish_envelope(APPLICATIONS, envelope)
            await eventually(
                effect_of(db, settings.consumer_group, envelope.id),
                limit=60,
                interval=0.002,
                what=f"the effect of {started[-1]}",
            )
            process.process.send_signal(signal.SIGSTOP)
            if not await committed_past(settings, record):
                break  # frozen after the effect, before the commit
            process.process.send_signal(signal.SIGCONT)
        else:
            pytest.fail(f"never froze the service between effect and commit in {ATTEMPTS} tries")
        before = await asyncio.to_thread(db["listings"].find_one, {"_id": listing.id})
        assert before is not None
        os.kill(process.process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.process.wait, 30)

        listings_process.start()
        async with insecure_channel(settings.grpc_address) as channel:
            await listings_process.wait_serving(channel)
        await eventually(
            lambda: committed_past(settings, record),
            limit=60,
            what="the redelivered event to be committed",
        )
        after = await asyncio.to_thread(db["listings"].find_one, {"_id": listing.id})
        assert after is not None
        assert after["version"] == before["version"], "the redelivery changed the listing again"
        seats = [*after["seat_holders"], *after["seat_waiting"]]
        assert sorted(seats) == sorted(started), "each engagement takes or waits for one seat"
        assert after["seats_filled"] == len(after["seat_holders"]) == min(2, len(started))
        assert await asyncio.to_thread(db[INBOX].count_documents, {}) == len(started)
    finally:
        await publisher.stop()
        mongo.close()


def effect_of(db: Any, group: str, event_id: str) -> Callable[[], Awaitable[Any]]:
    """The event's inbox mark, written in the same transaction as its effect."""
    return lambda: asyncio.to_thread(db[INBOX].find_one, {"_id": inbox_id(group, event_id)})
