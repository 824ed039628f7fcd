"""Session fixtures: the infrastructure every integration test talks to over the network."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.stack.backends import Backend, infrastructure
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import settings_for

# Services started by tests (in this process or as children) serve /metrics on a free port,
# never on the fixed ports of a developer's own `make run`.
os.environ.setdefault("STINT_METRICS_PORT", "0")


@pytest.fixture(scope="session")
def infra_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """External servers if configured, else Docker containers if one answers, else embedded."""
    with infrastructure(tmp_path_factory.mktemp("stack")) as backend:
        yield backend


@pytest.fixture(scope="session")
def infra(infra_backend: Backend) -> Endpoints:
    """A real Kafka-protocol broker, MongoDB-wire server and SMTP sink for the whole session."""
    return infra_backend.endpoints


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test uses, valid as a MongoDB database, a Kafka topic and a group id."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    return f"t_{stem}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def mongo(infra: Endpoints) -> Iterator[Client]:
    """A MongoDB client on the session's server; tests pick their own database names."""
    client = connect(settings_for(infra))
    yield client
    client.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the real broker or database must say so: `-m "not integration"` skips it."""
    unmarked = [
        item.nodeid
        for item in items
        if "infra" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("integration") is None
        and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests using the infrastructure without the integration (or e2e) marker:\n  "
            + "\n  ".join(unmarked)
        )
