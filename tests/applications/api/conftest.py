"""One applications service per test module, in process, on the real broker and database, with
a ManualClock the tests move (reset before each test).

Each module has its own database, clock and consumer group, so a clock jump in one module never
fires the timers of another's aggregates and modules pass alone or in any order. Every test
makes its own listings (published as real listings.v1 events), students and aggregates.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.database import Database
from stint.applications.v1 import service_pb2_grpc
from stint.topics import LISTINGS, PAYOUTS
from stint_applications.entrypoints.app import build
from stint_runtime.clock import ManualClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.service import ServiceApp
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.applications.api.kit import ApplicationsClient, EventFeed
from tests.applications.builders import NOW
from tests.support.isolation import own_consumer_group

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(autouse=True)
def _clock_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


@pytest.fixture(scope="module")
def module_tag(request: pytest.FixtureRequest) -> str:
    """The module's name plus a random part: its database and consumer group are its own."""
    return f"{request.module.__name__.rsplit('.', 1)[-1]}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def service_settings(infra: Endpoints, module_tag: str) -> StintSettings:
    return load_settings("applications").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "mongodb_database": f"t_applications_api_{module_tag}",
            "outbox_poll_seconds": 0.1,
            "timer_poll_seconds": 0.1,
            "shutdown_grace_seconds": 2.0,
            "log_level": "WARNING",
        }
    )


@pytest.fixture(scope="module")
async def service(
    service_settings: StintSettings, clock: ManualClock, module_tag: str
) -> AsyncIterator[ServiceApp]:
    app = ServiceApp(service_settings, build, clock=clock)
    async with own_consumer_group(
        service_settings, f"applications_{module_tag}", [LISTINGS, PAYOUTS]
    ):
        await app.start()
    try:
        assert app.subscriber is not None
        await app.subscriber.wait_assigned()
        yield app
    finally:
        await app.stop()


@pytest.fixture(scope="module")
def db(service: ServiceApp) -> Database[Any]:
    assert service.runtime is not None
    return service.runtime.units.db


@pytest.fixture(scope="module")
async def client(service: ServiceApp) -> AsyncIterator[ApplicationsClient]:
    async with insecure_channel(service.address) as channel:
        stub = service_pb2_grpc.ApplicationsServiceStub(channel)
        yield ApplicationsClient(stub, service.settings)


@pytest.fixture(scope="module")
async def feed(
    service: ServiceApp, clock: ManualClock, db: Database[Any]
) -> AsyncIterator[EventFeed]:
    publisher = KafkaPublisher(service.settings.kafka_bootstrap_servers, client_id="test-feed")
    await publisher.start()
    try:
        assert service.subscriber is not None
        yield EventFeed(publisher, clock, db, group=service.subscriber.group_id)
    finally:
        await publisher.stop()
