"""The real listings service's consumer killed after an event's effect, before its offset commit.

The service is frozen (SIGSTOP) as soon as an event's effect is visible; when its offset is
not yet committed at that moment the window was hit, and the service is killed (SIGKILL) there.
The restarted service gets the event again and must not apply it twice; its offset then commits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import MongoClient
from stint.listings.v1 import service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import INBOX, inbox_id
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.listings.api.kit import ApplicationsStandIn, ListingsClient
from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ATTEMPTS = 150  # the window is a broker round trip wide: hit in 1 of 5 to 15 tries here


@pytest.fixture
def settings(infra: Endpoints) -> StintSettings:
    """The service in a consumer group of its own, from the topics' end (no session backlog)."""
    settings = load_settings("listings").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "mongodb_database": f"t_listings_crash_{uuid.uuid4().hex[:8]}",
        }
    )
    return own_group_settings(settings)


@pytest.fixture
def listings_process(settings: StintSettings, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(settings, tmp_path)
    yield process
    if process.process is not None and process.process.pid is not None:
        process.process.process.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
    process.stop()


async def uncommitted(settings: StintSettings) -> int:
    """Records of applications.v1 the service's group has not committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(APPLICATIONS, p)
            for p in consumer.partitions_for_topic(APPLICATIONS) or ()
        ]
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            lag += ends[tp] - (await consumer.committed(tp) or 0)
        return lag
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
        # Whatever the group had not committed is behind us: any lag from now on is ours.
        await eventually(lambda: _no_lag(settings), limit=60, what="the group to catch up")
        for attempt in range(ATTEMPTS):
            started.append(f"eng-{attempt}")
            envelope = await applications.started(listing.id, started[-1])
            await eventually(
                effect_of(db, settings.consumer_group, envelope.id),
                limit=60,
                interval=0.002,
                what=f"the effect of {started[-1]}",
            )
            process.process.send_signal(signal.SIGSTOP)
            if await uncommitted(settings) > 0:
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
            lambda: _no_lag(settings), limit=60, what="the redelivered event to be committed"
        )
        after = await asyncio.to_thread(db["listings"].find_one, {"_id": listing.id})
        assert after is not None
        assert after["version"] == before["version"], "the redelivery changed the listing again"
        seats = [*after["seat_holders"], *after["seat_waiting"]]
        assert sorted(seats) == sorted(started), "each engagement takes or waits for one seat"
        assert after["seats_filled"] == len(after["seat_holders"]) == 2
        assert await asyncio.to_thread(db[INBOX].count_documents, {}) == len(started)
    finally:
        await publisher.stop()
        mongo.close()


def effect_of(db: Any, group: str, event_id: str) -> Callable[[], Awaitable[Any]]:
    """The event's inbox mark, written in the same transaction as its effect."""
    return lambda: asyncio.to_thread(db[INBOX].find_one, {"_id": inbox_id(group, event_id)})


async def _no_lag(settings: StintSettings) -> bool:
    return await uncommitted(settings) == 0
