"""`stint reset`: delete the development data, after confirmation, and never outside development.

What goes: each service's database (`stint_<service>`, or STINT_MONGODB_DATABASE) on the local
MongoDB — dropped through the server when one is listening, else the embedded server's storage
directory (`<data dir>/mongodb`) is removed — the SMTP sink's mail (`<data dir>/mail`) and the
payment simulator's records (`<data dir>/payment-provider`). Logs stay. The embedded Kafka keeps
topics in memory: restarting `make run` empties them.

Refused (exit 3) when STINT_ENVIRONMENT is production or MONGODB_URI names any host that is not
this machine's loopback: a reset is for the developer's own stack only.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from pathlib import Path

from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from stint_runtime.ops import EXIT_FAILED, EXIT_REFUSED, OperatorError
from stint_runtime.persistence.mongo import connect
from stint_runtime.running import redact_uri
from stint_runtime.settings import DEFAULT_GRPC_PORTS, StintSettings, load_settings
from stint_runtime.stack.processes import port_in_use

DATA_SUBDIRECTORIES = ("mail", "payment-provider")
EMBEDDED_STORAGE = "mongodb"


@dataclass
class ResetPlan:
    """What a reset deletes; `describe` is what the confirmation shows."""

    databases: list[str]
    uri: str
    server_listening: bool
    directories: list[Path] = field(default_factory=list)

    def describe(self) -> list[str]:
        where = "dropped on" if self.server_listening else "not running; its storage removed:"
        lines = [f"  databases {', '.join(self.databases)} ({where} {redact_uri(self.uri)})"]
        lines += [f"  {directory}/" for directory in self.directories]
        return lines


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_nodes(uri: str) -> list[tuple[str, int]]:
    """The hosts of `uri`; OperatorError (refused) unless every one is this machine's loopback."""
    try:
        nodes = [(str(host), int(port)) for host, port in parse_uri(uri)["nodelist"]]
    except Exception as error:  # pymongo raises several kinds for a malformed URI
        raise OperatorError(f"MONGODB_URI is not a MongoDB URI: {error}", EXIT_FAILED) from None
    if not nodes or not all(_is_loopback(host) for host, _ in nodes):
        raise OperatorError(
            "refusing to reset: MONGODB_URI is not the local development server", EXIT_REFUSED
        )
    return nodes


def plan_reset(settings: StintSettings, data_dir: Path) -> ResetPlan:
    """What `stint reset` would delete; raises OperatorError when it must refuse."""
    if settings.environment == "production":
        raise OperatorError("refusing to reset: STINT_ENVIRONMENT is production", EXIT_REFUSED)
    nodes = local_nodes(settings.mongodb_uri)
    listening = any(port_in_use(host.strip("[]"), port) for host, port in nodes)
    databases = sorted({load_settings(name).database_name for name in DEFAULT_GRPC_PORTS})
    names = [*DATA_SUBDIRECTORIES, *(() if listening else (EMBEDDED_STORAGE,))]
    directories = [data_dir / name for name in names if (data_dir / name).exists()]
    return ResetPlan(databases, settings.mongodb_uri, listening, directories)


def reset(plan: ResetPlan, settings: StintSettings, emit: Callable[[str], None]) -> None:
    """Deletes what `plan` names."""
    if plan.server_listening:
        client = connect(settings, server_selection_timeout_ms=5_000)
        try:
            for name in plan.databases:
                client.drop_database(name)
                emit(f"dropped database {name}")
        except PyMongoError as error:
            raise OperatorError(
                f"MongoDB at {redact_uri(plan.uri)}: {error}", EXIT_FAILED
            ) from None
        finally:
            client.close()
    for directory in plan.directories:
        shutil.rmtree(directory)
        emit(f"removed {directory}/")
