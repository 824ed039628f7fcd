"""One payouts service for the api package, in process, on the real broker and database, talking
through the stripe SDK to the provider simulator running as its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from stint.payouts.v1 import service_pb2_grpc
from stint_payouts.config import PayoutsSettings
from stint_payouts.entrypoints.app import PayoutsService
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.payment_provider import simulator_url, start_simulator
from stint_runtime.stack.processes import free_port

from tests.payouts.api.kit import EventFeed, PayoutsClient, Simulator
from tests.support.isolation import own_group_settings
from tests.support.service_app import serving
from tests.support.service_settings import settings_for_test

pytestmark = pytest.mark.integration


@pytest.fixture(scope="package")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    directory: Path = tmp_path_factory.mktemp("provider")
    port = free_port()
    process = start_simulator(directory, port, directory / "provider.log")
    try:
        yield Simulator(simulator_url(port))
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def _no_faults(simulator: Simulator) -> None:
    simulator.faults(failure_rate=0, lost_response_rate=0, timeout_rate=0, decline_rate=0)


@pytest.fixture(scope="package")
def service_settings(infra: Endpoints) -> StintSettings:
    settings = settings_for_test(
        "payouts",
        infra,
        "api",
        outbox_poll_seconds=0.1,
        timer_poll_seconds=0.1,
        shutdown_grace_seconds=2.0,
        log_level="WARNING",
    )
    return own_group_settings(settings)  # not the backlog other packages left on the topics


@pytest.fixture(scope="package")
async def service(
    service_settings: StintSettings, simulator: Simulator
) -> AsyncIterator[PayoutsService]:
    payouts = PayoutsSettings(
        provider_api_base=simulator.url,
        retry_max_attempts=3,
        retry_initial_seconds=0.1,
        retry_max_seconds=0.4,
        processor_poll_seconds=0.2,
        provider_timeout_seconds=3,
    )
    app = PayoutsService(service_settings, payouts)
    async with serving(app):
        yield app


@pytest.fixture(scope="package")
def db(service: PayoutsService) -> Database[Any]:
    assert service.runtime is not None
    return service.runtime.units.db


@pytest.fixture(scope="package")
async def client(service: PayoutsService) -> AsyncIterator[PayoutsClient]:
    async with insecure_channel(service.address) as channel:
        yield PayoutsClient(service_pb2_grpc.PayoutsServiceStub(channel), service.settings)


@pytest.fixture(scope="package")
async def feed(service: PayoutsService) -> AsyncIterator[EventFeed]:
    publisher = KafkaPublisher(service.settings.kafka_bootstrap_servers, client_id="test-feed")
    await publisher.start()
    try:
        yield EventFeed(publisher)
    finally:
        await publisher.stop()
