"""`python -m stint_listings` as a process: reflection lists every RPC, and the expiry timer
fires after a restart whose clock is past the deadline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from stint.listings.v1 import resources_pb2, service_pb2_grpc
from stint.topics import LISTINGS
from stint_listings.entrypoints.policy import LISTINGS_SERVICE
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.envelope import decode_envelope, unpack
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

from tests.listings.api.kit import ListingsClient
from tests.support.messaging_kit import read_topic
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SERVING = health_pb2.HealthCheckResponse.SERVING
DAY = timedelta(days=1)


@pytest.fixture
def settings(infra: Endpoints) -> StintSettings:
    return settings_for_test("listings", infra, "process")


@pytest.fixture
def listings_process(settings: StintSettings, tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(settings, tmp_path)
    yield process
    process.stop()


async def reflect(channel: grpc.aio.Channel) -> tuple[list[str], list[str]]:
    """(services the server lists, methods of ListingsService in its file descriptor)."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=LISTINGS_SERVICE.full_name),
    ]
    responses = [response async for response in stub.ServerReflectionInfo(iter(requests))]
    services = [s.name for s in responses[0].list_services_response.service]
    methods: list[str] = []
    for raw in responses[1].file_descriptor_response.file_descriptor_proto:
        file = descriptor_pb2.FileDescriptorProto.FromString(raw)
        for service in file.service:
            if f"{file.package}.{service.name}" == LISTINGS_SERVICE.full_name:
                methods = [method.name for method in service.method]
    return services, methods


async def test_reflection_lists_every_listings_rpc(
    listings_process: ServiceProcess, settings: StintSettings
) -> None:
    listings_process.start()
    async with insecure_channel(settings.grpc_address) as channel:
        await listings_process.wait_serving(channel)
        services, methods = await reflect(channel)
    assert LISTINGS_SERVICE.full_name in services
    assert "grpc.health.v1.Health" in services
    assert sorted(methods) == sorted(m.name for m in LISTINGS_SERVICE.methods)
    assert len(methods) == 10
    assert listings_process.stop() == 0


async def test_the_expiry_timer_fires_after_a_restart_past_the_deadline(
    listings_process: ServiceProcess, settings: StintSettings
) -> None:
    listings_process.start()
    async with insecure_channel(settings.grpc_address) as channel:
        await listings_process.wait_serving(channel)
        client = ListingsClient(
            service_pb2_grpc.ListingsServiceStub(channel), settings, SystemClock()
        )
        listing = await client.published()
        assert listing.status == resources_pb2.LISTING_STATUS_PUBLISHED
    assert listings_process.stop() == 0, "the first run did not stop cleanly"

    deadline = listing.application_deadline.ToDatetime(tzinfo=UTC)
    listings_process.start(clock_offset=deadline - datetime.now(UTC) + DAY)
    async with insecure_channel(settings.grpc_address) as channel:
        await listings_process.wait_serving(channel)
        client = ListingsClient(
            service_pb2_grpc.ListingsServiceStub(channel), settings, SystemClock()
        )
        expired = await client.wait_for_status(listing.id, resources_pb2.LISTING_STATUS_EXPIRED)
    assert expired.end_time.ToDatetime(tzinfo=UTC) > deadline

    def expiry(records: list[Any]) -> list[Any]:
        return [
            r
            for r in records
            if r.key == listing.id.encode()
            and decode_envelope(r.value).type == "stint.listings.v1.ListingExpired"
        ]

    records = await read_topic(
        settings.kafka_bootstrap_servers, LISTINGS, until=lambda rs: bool(expiry(rs))
    )
    event: Any = unpack(decode_envelope(expiry(records)[0].value))
    assert event.listing_id == listing.id
    assert event.listing.status == resources_pb2.LISTING_STATUS_EXPIRED
