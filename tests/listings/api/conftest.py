"""One listings service per test module, in process, on the real broker and database.

Its clock is a ManualClock the tests move (reset before each test); its database and consumer
group are the module's own, so the timer scanner and searches only ever see that module's
listings and modules pass alone or in any order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from stint.listings.v1 import service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_listings.entrypoints.app import build
from stint_runtime.clock import ManualClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.service import ServiceApp
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

from tests.listings.api.kit import ApplicationsStandIn, ListingsClient
from tests.listings.builders import NOW
from tests.support.isolation import own_consumer_group
from tests.support.service_settings import settings_for_test

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(autouse=True)
def _clock_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


@pytest.fixture(scope="module")
def service_settings(infra: Endpoints, request: pytest.FixtureRequest) -> StintSettings:
    module = request.module.__name__.rsplit(".", 1)[-1]
    return settings_for_test(
        "listings",
        infra,
        f"api_{module}",
        outbox_poll_seconds=0.1,
        timer_poll_seconds=0.1,
        shutdown_grace_seconds=2.0,
        log_level="WARNING",
    )


@pytest.fixture(scope="module")
async def service(service_settings: StintSettings, clock: ManualClock) -> AsyncIterator[ServiceApp]:
    app = ServiceApp(service_settings, build, clock=clock)
    group = service_settings.database_name.replace("t_listings_api", "listings", 1)
    async with own_consumer_group(service_settings, group, [APPLICATIONS]):
        await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture(scope="module")
async def client(service: ServiceApp, clock: ManualClock) -> AsyncIterator[ListingsClient]:
    async with insecure_channel(service.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        yield ListingsClient(stub, service.settings, clock)


@pytest.fixture(scope="module")
async def applications(
    service: ServiceApp, clock: ManualClock
) -> AsyncIterator[ApplicationsStandIn]:
    publisher = KafkaPublisher(
        service.settings.kafka_bootstrap_servers, client_id="test-applications"
    )
    await publisher.start()
    try:
        yield ApplicationsStandIn(publisher, clock)
    finally:
        await publisher.stop()
