"""The server bootstrap: reflection, the message size limit, policy coverage and graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from stint.listings.v1 import service_pb2, service_pb2_grpc
from stint_listings.entrypoints.policy import LISTINGS_POLICY
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.grpc.policy import PolicyError, ServicePolicy
from stint_runtime.grpc.server import build_server
from stint_runtime.settings import StintSettings

from tests.integration.grpc.conftest import MAX_MESSAGE_BYTES, Harness
from tests.support.grpc_listings import (
    SLOW,
    ListingsTestServicer,
    listings_binding,
)

pytestmark = pytest.mark.integration


async def _listed_services(channel: grpc.aio.Channel) -> list[str]:
    async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    async for reply in stub.ServerReflectionInfo(one_request()):
        return [service.name for service in reply.list_services_response.service]
    raise AssertionError("reflection sent no reply")


async def test_reflection_lists_the_services(harness: Harness) -> None:
    services = await _listed_services(harness.channel)
    assert "stint.listings.v1.ListingsService" in services
    assert "grpc.health.v1.Health" in services


async def test_oversized_request_is_refused_with_resource_exhausted(harness: Harness) -> None:
    oversized = service_pb2.GetListingRequest(listing_id="x" * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.GetListing(oversized)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert harness.servicer.calls["GetListing"] == 0


async def test_a_policy_must_cover_exactly_the_service_methods(
    grpc_settings: StintSettings,
) -> None:
    incomplete = ServicePolicy(
        service=LISTINGS_POLICY.service,
        rules={k: v for k, v in LISTINGS_POLICY.rules.items() if k != "SearchListings"},
    )
    with pytest.raises(PolicyError, match="SearchListings"):
        await build_server(grpc_settings, [listings_binding(ListingsTestServicer(), incomplete)])
    extra = ServicePolicy(
        service=LISTINGS_POLICY.service,
        rules={
            **LISTINGS_POLICY.rules,
            "DeleteEverything": LISTINGS_POLICY.rules["GetListing"],
        },
    )
    with pytest.raises(PolicyError, match="DeleteEverything"):
        await build_server(grpc_settings, [listings_binding(ListingsTestServicer(), extra)])


async def _refused_while_stopping(address: str) -> grpc.StatusCode:
    """Polls (bounded) until a new call is refused; returns the refusal's code."""
    for _ in range(50):
        async with insecure_channel(address) as channel:
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            try:
                await stub.GetListing(service_pb2.GetListingRequest(listing_id="new"), timeout=2)
            except grpc.aio.AioRpcError as error:
                return error.code()
        await asyncio.sleep(0.1)
    raise AssertionError("new calls were still accepted 5 s after stop began")


async def test_graceful_stop_drains_in_flight_calls_and_refuses_new_ones(harness: Harness) -> None:
    async with insecure_channel(harness.server.address) as watch_channel:
        watch = health_pb2_grpc.HealthStub(watch_channel).Watch(health_pb2.HealthCheckRequest())
        first = await asyncio.wait_for(watch.read(), timeout=10)
        assert first.status == health_pb2.HealthCheckResponse.SERVING

        in_flight = asyncio.ensure_future(
            harness.stub.GetListing(service_pb2.GetListingRequest(listing_id=SLOW))
        )
        await asyncio.wait_for(harness.servicer.entered.wait(), timeout=10)
        stopping = asyncio.ensure_future(harness.server.stop(grace=30))

        update = await asyncio.wait_for(watch.read(), timeout=10)
        assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await _refused_while_stopping(harness.server.address) == grpc.StatusCode.UNAVAILABLE
        assert not in_flight.done()

        harness.servicer.release.set()
        completed = await asyncio.wait_for(in_flight, timeout=10)
        assert completed.listing.id == SLOW
        watch.cancel()
    await asyncio.wait_for(stopping, timeout=10)
