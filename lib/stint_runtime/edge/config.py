"""Where the edge listens, which origins it allows and where each service's gRPC port is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from stint_runtime.settings import DEFAULT_GRPC_PORTS

DEFAULT_EDGE_PORT: Final = 8080
DEFAULT_CORS_ORIGINS: Final = ("http://localhost:3000", "http://localhost:5173")
PORT_VARIABLE: Final = "STINT_EDGE_PORT"
HOST_VARIABLE: Final = "STINT_EDGE_HOST"
ORIGINS_VARIABLE: Final = "STINT_EDGE_CORS_ORIGINS"
TIMEOUT_VARIABLE: Final = "STINT_EDGE_TIMEOUT_SECONDS"
LOOPBACK: Final = "127.0.0.1"


class ConfigError(ValueError):
    """A setting of the edge is malformed."""


@dataclass(frozen=True)
class EdgeConfig:
    host: str
    port: int
    upstreams: dict[str, str]  # service name -> host:port of its gRPC server
    cors_origins: tuple[str, ...]
    timeout_seconds: float = 30.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def upstream_variable(service: str) -> str:
    return f"STINT_EDGE_{service.upper()}_ADDRESS"


def port_number(name: str, raw: str) -> int:
    if not raw.isdigit() or not 0 <= int(raw) < 65536:
        raise ConfigError(f"{name}={raw!r} is not a port number")
    return int(raw)


def from_env(env: Mapping[str, str]) -> EdgeConfig:
    """STINT_EDGE_PORT/HOST/CORS_ORIGINS (comma-separated; "*" for any) and, per service,
    STINT_EDGE_<SERVICE>_ADDRESS, else 127.0.0.1 on STINT_<SERVICE>_GRPC_PORT (as `make run`)."""
    upstreams = {}
    for service, default_port in DEFAULT_GRPC_PORTS.items():
        address = env.get(upstream_variable(service), "")
        if not address:
            variable = f"STINT_{service.upper()}_GRPC_PORT"
            port = port_number(variable, env.get(variable, "") or str(default_port))
            address = f"{LOOPBACK}:{port}"
        upstreams[service] = address
    origins = env.get(ORIGINS_VARIABLE)
    timeout = env.get(TIMEOUT_VARIABLE, "") or "30"
    try:
        timeout_seconds = float(timeout)
    except ValueError:
        raise ConfigError(f"{TIMEOUT_VARIABLE}={timeout!r} is not a number") from None
    return EdgeConfig(
        host=env.get(HOST_VARIABLE, "") or LOOPBACK,
        port=port_number(PORT_VARIABLE, env.get(PORT_VARIABLE, "") or str(DEFAULT_EDGE_PORT)),
        upstreams=upstreams,
        cors_origins=DEFAULT_CORS_ORIGINS
        if origins is None
        else tuple(o.strip() for o in origins.split(",") if o.strip()),
        timeout_seconds=timeout_seconds,
    )
