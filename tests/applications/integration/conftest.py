"""The applications app over the real database: one fresh database per test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from stint_applications.bootstrap import ApplicationsApp, bootstrap
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.stack.embedded import Endpoints

from tests.applications.builders import NOW
from tests.support.messaging_kit import settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mongo(infra: Endpoints) -> Iterator[Client]:
    client = connect(settings_for(infra, "applications"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(autouse=True)
def _clock_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


@pytest.fixture(scope="module")
def app(mongo: Client, clock: ManualClock, request: pytest.FixtureRequest) -> ApplicationsApp:
    module = request.module.__name__.rsplit(".", 1)[-1]
    return bootstrap(mongo, f"t_applications_{module}_{uuid.uuid4().hex[:8]}", clock)
