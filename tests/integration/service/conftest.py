"""Settings for a probe service on the real broker and database, one database per test."""

from __future__ import annotations

import uuid

import pytest
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port


@pytest.fixture
def probe_settings(infra: Endpoints) -> StintSettings:
    name = f"probe{uuid.uuid4().hex[:8]}"
    return load_settings(name).model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "shutdown_grace_seconds": 10.0,
        }
    )
