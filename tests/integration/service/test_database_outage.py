"""Chaos: the database stops in the middle of a stream of events and comes back.

Every effect is applied exactly once, nothing is dead-lettered, the consumer group's lag goes
back to 0; meanwhile health turns NOT_SERVING and RPCs answer UNAVAILABLE, never INTERNAL.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient
from stint.listings.v1 import events_pb2, service_pb2, service_pb2_grpc
from stint.topics import LISTINGS
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import dead_letter_topic, ensure_topics
from stint_runtime.persistence.mongo import Document
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import mongodb_process, mongodb_ready, mongodb_uri
from stint_runtime.stack.processes import ManagedProcess, free_port

from tests.support.messaging_kit import end_offset, wait_for
from tests.support.service_probe import SEEN, committed_lag, probe_process
from tests.support.service_process import wait_serving

pytestmark = pytest.mark.integration

EVENTS = 200
OUTAGE_AFTER = 60  # events applied before the database stops
OUTAGE_SECONDS = 8.0
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


def submitted(n: int, run: str) -> events_pb2.ListingSubmitted:
    return events_pb2.ListingSubmitted(listing_id=f"{run}-{n}")


async def health(channel: grpc.aio.Channel) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    return int((await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)).status)


async def test_a_database_outage_mid_stream_loses_nothing_and_applies_nothing_twice(
    probe_settings: StintSettings, tmp_path: Path
) -> None:
    port = free_port()
    database = mongodb_process(port, tmp_path, tmp_path / "mongodb.log")
    database.start()
    uri = mongodb_uri(port)
    try:
        await asyncio.to_thread(database.wait_ready, lambda: mongodb_ready(uri), 60)
        await chaos(probe_settings.model_copy(update={"mongodb_uri": uri}), database, tmp_path)
    finally:
        database.stop()


async def chaos(settings: StintSettings, database: ManagedProcess, tmp_path: Path) -> None:
    await ensure_topics(settings.kafka_bootstrap_servers, [LISTINGS])
    service = probe_process(
        settings,
        tmp_path,
        {"STINT_UNHEALTHY_AFTER_SECONDS": "2", "STINT_KAFKA_RETRY_BACKOFF_MAX_SECONDS": "1"},
    )
    service.start()
    client: MongoClient[Document] = MongoClient(settings.mongodb_uri, serverSelectionTimeoutMS=2000)
    seen = client[settings.database_name][SEEN]
    run = settings.service_name
    expected = {f"{run}-{n}" for n in range(EVENTS)}

    def applied() -> int:
        return seen.count_documents({"listing_id": {"$regex": f"^{run}-"}})

    try:
        async with insecure_channel(settings.grpc_address) as channel:
            await wait_serving(channel, service)
            async with KafkaPublisher(settings.kafka_bootstrap_servers, client_id="chaos") as out:
                for n in range(EVENTS):
                    envelope = new_envelope(
                        submitted(n, run), source="chaos", subject=f"{run}-{n}", clock=SystemClock()
                    )
                    await out.publish_envelope(LISTINGS, envelope)

            await wait_for(lambda: applied() >= OUTAGE_AFTER, limit=120, what="events applied")
            database.stop()
            stopped_at = time.monotonic()
            await wait_until_status(channel, NOT_SERVING, limit=60)
            token = mint_token(settings, sub="emp-1", role="employer", org="org-1")
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as during:
                await stub.GetListing(
                    service_pb2.GetListingRequest(listing_id="any"),
                    metadata=call_metadata(token=token),
                    timeout=30,
                )
            assert during.value.code() == grpc.StatusCode.UNAVAILABLE, during.value.details()
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))

            database.start()
            restarted_at = time.monotonic()
            await asyncio.to_thread(
                database.wait_ready, lambda: mongodb_ready(settings.mongodb_uri), 60
            )
            await wait_for(lambda: applied() == EVENTS, limit=180, what="every event applied")
            recovered_in = time.monotonic() - restarted_at
            await wait_until_status(channel, SERVING, limit=30)

        found = seen.find({"listing_id": {"$in": sorted(expected)}})
        listing_ids = [doc["listing_id"] for doc in found]
        assert sorted(listing_ids) == sorted(expected), "each effect exactly once"
        dead_letters = dead_letter_topic(settings.service_name, LISTINGS)
        assert await end_offset(settings.kafka_bootstrap_servers, dead_letters) == 0
        await wait_for(lambda: lag_is_zero(settings), limit=30, what="the lag back to 0")
        print(
            f"\ndatabase outage: {OUTAGE_SECONDS:.0f}s after {OUTAGE_AFTER} of {EVENTS} events; "
            f"all {EVENTS} applied {recovered_in:.1f}s after the restart, none twice, "
            "none dead-lettered"
        )
    finally:
        service.stop()
        client.close()


async def lag_is_zero(settings: StintSettings) -> bool:
    return await committed_lag(settings) == 0


async def wait_until_status(channel: grpc.aio.Channel, status: int, *, limit: float) -> None:
    deadline = time.monotonic() + limit
    while await health(channel) != status:
        assert time.monotonic() < deadline, f"health never reached {status}"
        await asyncio.sleep(0.2)
