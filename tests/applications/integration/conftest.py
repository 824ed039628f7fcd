"""The applications app over the real database: one fresh database per test module."""

from __future__ import annotations

import uuid

import pytest
from stint_applications.bootstrap import ApplicationsApp, bootstrap
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client

from tests.applications.builders import NOW

pytestmark = pytest.mark.integration


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
