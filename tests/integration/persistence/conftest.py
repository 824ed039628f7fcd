"""Fixtures for persistence tests: a client and a unit-of-work factory on a fresh database."""

from __future__ import annotations

import pytest
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def factory(mongo: Client, unique_name: str, clock: ManualClock) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(mongo, unique_name, "testsvc", clock)
