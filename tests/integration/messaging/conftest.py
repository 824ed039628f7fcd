"""Fixtures for messaging tests: a database, a unit-of-work factory and a dead-letter publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints


@pytest.fixture
def factory(mongo: Client, unique_name: str) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(mongo, unique_name, "testsvc", ManualClock())


@pytest.fixture
async def publisher(infra: Endpoints) -> AsyncIterator[KafkaPublisher]:
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="test") as publisher:
        yield publisher
