"""A service's settings for a test: the session's servers, a free port and a database of its own."""

from __future__ import annotations

import uuid
from typing import Any

from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port


def settings_for_test(name: str, infra: Endpoints, label: str, **updates: Any) -> StintSettings:
    """`name`'s settings on `infra`, gRPC on a free port, database `t_<name>_<label>_<random>`."""
    return load_settings(name).model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "mongodb_database": f"t_{name}_{label}_{uuid.uuid4().hex[:8]}",
            **updates,
        }
    )
