"""Fixtures for persistence tests: a client and a unit-of-work factory on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import settings_for


@pytest.fixture
def mongo(infra: Endpoints) -> Iterator[Client]:
    client = connect(settings_for(infra))
    yield client
    client.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def factory(mongo: Client, unique_name: str, clock: ManualClock) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(mongo, unique_name, "testsvc", clock)
