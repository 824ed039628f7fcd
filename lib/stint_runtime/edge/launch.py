"""The edge as a child process of `make run` (or of a test): its command, environment and probe."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from stint_runtime.edge.config import (
    DEFAULT_EDGE_PORT,
    LOOPBACK,
    ORIGINS_VARIABLE,
    PORT_VARIABLE,
    ConfigError,
    port_number,
    upstream_variable,
)
from stint_runtime.edge.server import HEALTH_PATH
from stint_runtime.stack.processes import ManagedProcess


def edge_port(env: Mapping[str, str]) -> int:
    """STINT_EDGE_PORT, default 8080."""
    return port_number(PORT_VARIABLE, env.get(PORT_VARIABLE, "") or str(DEFAULT_EDGE_PORT))


def edge_process(
    log_path: Path,
    grpc_ports: Mapping[str, int],
    *,
    port: int,
    cwd: Path | None = None,
    cors_origins: str | None = None,
) -> ManagedProcess:
    """`python -m stint_runtime.edge` on `port`, in front of the services on 127.0.0.1."""
    env = {
        PORT_VARIABLE: str(port),
        "PYTHONUNBUFFERED": "1",
        **{upstream_variable(name): f"{LOOPBACK}:{p}" for name, p in grpc_ports.items()},
    }
    if cors_origins is not None:
        env[ORIGINS_VARIABLE] = cors_origins
    argv = [sys.executable, "-m", "stint_runtime.edge"]
    return ManagedProcess("edge", argv, log_path, env=env, cwd=cwd)


def edge_serving(port: int, timeout: float = 1.0) -> bool:
    """Whether the edge on 127.0.0.1:`port` answers its health path."""
    url = f"http://{LOOPBACK}:{port}{HEALTH_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


__all__ = ["ConfigError", "edge_port", "edge_process", "edge_serving"]
