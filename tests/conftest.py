"""Session fixtures: the infrastructure every integration test talks to over the network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stint_runtime.stack.embedded import EmbeddedStack, Endpoints


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoints]:
    """A real Kafka-protocol broker, MongoDB-wire server and SMTP sink for the whole session."""
    workdir: Path = tmp_path_factory.mktemp("stack")
    with EmbeddedStack(workdir) as endpoints:
        yield endpoints
