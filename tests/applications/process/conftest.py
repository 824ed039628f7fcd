"""Settings for service processes: each its own database and port, the session's broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stint_runtime.settings import load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

Launcher = Callable[..., ServiceProcess]


@pytest.fixture
def launch(infra: Endpoints, tmp_path: Path) -> Iterator[Launcher]:
    """`launch("applications", environment=...)`: a ServiceProcess, stopped after the test."""
    started: list[ServiceProcess] = []

    def make(name: str, **updates: object) -> ServiceProcess:
        settings = load_settings(name).model_copy(
            update={
                "environment": "test",
                "grpc_port": free_port(),
                "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
                "mongodb_uri": infra.mongodb_uri,
                "mongodb_database": f"t_{name}_process_{uuid.uuid4().hex[:8]}",
                **updates,
            }
        )
        # A group of its own at the topics' end: only what the test publishes, no backlog.
        process = ServiceProcess(own_group_settings(settings), tmp_path)
        started.append(process)
        return process

    yield make
    for process in reversed(started):
        process.stop()
