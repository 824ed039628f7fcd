"""`stint reset`: delete the development data, after confirmation, and only what `make run` owns.

What goes: each service's database (`stint_<service>`, or STINT_MONGODB_DATABASE) on the embedded
MongoDB this data directory's `make run` started — dropped through the server when it is
listening, else its storage directory (`<data dir>/mongodb`) is removed — the SMTP sink's mail
(`<data dir>/mail`) and the payment simulator's records (`<data dir>/payment-provider`). Logs stay.
The embedded Kafka keeps topics in memory: restarting `make run` empties them.

What `make run` owns is what it wrote in `<data dir>/stint-owned.json` when it started (`claim`):
the embedded MongoDB's port, a token it also stored in that server, and the directories it made.
Refused (exit 3): STINT_ENVIRONMENT production; a MONGODB_URI naming another server; `make run`
still running (its services create their unique indexes only at start-up); a data directory
`make run` never claimed; a server on the recorded port without the token (a tunnel, another
MongoDB). Directories are removed only when the claim lists them.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from ipaddress import ip_address
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from stint_runtime.atomic_file import write_atomically
from stint_runtime.ops import EXIT_FAILED, EXIT_REFUSED, OperatorError
from stint_runtime.running import RunningPlatform, redact_uri
from stint_runtime.settings import DEFAULT_GRPC_PORTS, StintSettings, load_settings
from stint_runtime.stack.embedded import LOOPBACK, mongodb_uri
from stint_runtime.stack.processes import port_in_use

DATA_SUBDIRECTORIES = ("mail", "payment-provider")
EMBEDDED_STORAGE = "mongodb"
OWNER_FILE = "stint-owned.json"
OWNER_DATABASE = "stint_devstack"
OWNER_ID = "make-run"
DEFAULT_URI = StintSettings.model_fields["mongodb_uri"].default


@dataclass(frozen=True)
class Claim:
    """What one data directory's `make run` started and may therefore reset."""

    mongodb_port: int | None
    token: str
    directories: list[str] = field(default_factory=list)

    def write(self, data_dir: Path) -> None:
        write_atomically(data_dir / OWNER_FILE, json.dumps(asdict(self)) + "\n", mode=0o600)

    @classmethod
    def read(cls, data_dir: Path) -> Claim | None:
        try:
            return cls(**json.loads((data_dir / OWNER_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _client(uri: str) -> MongoClient[dict[str, object]]:
    return MongoClient(uri, directConnection=True, serverSelectionTimeoutMS=5_000)


def claim(data_dir: Path, embedded_mongodb_uri: str | None) -> Claim:
    """Record (at `make run` start) what this data directory's stack is: a fresh token in the
    embedded MongoDB (None: the servers are external, their databases are not ours to drop)."""
    token = secrets.token_hex(16)
    port = None
    if embedded_mongodb_uri is not None:
        port = int(parse_uri(embedded_mongodb_uri)["nodelist"][0][1])
        client = _client(embedded_mongodb_uri)
        try:
            client[OWNER_DATABASE]["owner"].replace_one(
                {"_id": OWNER_ID}, {"_id": OWNER_ID, "token": token}, upsert=True
            )
        finally:
            client.close()
    directories = [*DATA_SUBDIRECTORIES, *((EMBEDDED_STORAGE,) if port is not None else ())]
    owned = Claim(port, token, directories)
    data_dir.mkdir(parents=True, exist_ok=True)
    owned.write(data_dir)
    return owned


@dataclass
class ResetPlan:
    """What a reset deletes; `describe` is what the confirmation shows."""

    databases: list[str]
    uri: str
    server_listening: bool
    directories: list[Path] = field(default_factory=list)

    def describe(self) -> list[str]:
        if not self.databases:
            lines = ["  no database (make run used servers it did not start)"]
        else:
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


def refuse(reason: str) -> OperatorError:
    return OperatorError(f"refusing to reset: {reason}", EXIT_REFUSED)


def _holds_token(uri: str, token: str) -> bool:
    client = _client(uri)
    try:
        found = client[OWNER_DATABASE]["owner"].find_one({"_id": OWNER_ID})
    except PyMongoError:
        return False
    finally:
        client.close()
    return found is not None and found.get("token") == token


def plan_reset(settings: StintSettings, data_dir: Path) -> ResetPlan:
    """What `stint reset` would delete; raises OperatorError when it must refuse."""
    if settings.environment == "production":
        raise refuse("STINT_ENVIRONMENT is production")
    configured = settings.mongodb_uri if settings.mongodb_uri != DEFAULT_URI else None
    nodes = local_nodes(configured) if configured is not None else []
    running = RunningPlatform.read(data_dir)
    if running is not None:
        raise refuse(
            f"`make run` (pid {running.pid}) is using {data_dir}: stop it first (Ctrl-C), "
            "then reset; its services create their indexes only when they start"
        )
    owned = Claim.read(data_dir)
    if owned is None:
        raise refuse(
            f"{data_dir} holds no data of `make run` (no {OWNER_FILE}); "
            "nothing outside what `make run` created there is ever deleted"
        )
    directories = [
        data_dir / name
        for name in owned.directories
        if name in DATA_SUBDIRECTORIES and (data_dir / name).is_dir()
    ]
    if owned.mongodb_port is None:
        return ResetPlan([], "", False, directories)
    if nodes and nodes != [(nodes[0][0], owned.mongodb_port)]:
        raise refuse(
            f"MONGODB_URI ({redact_uri(settings.mongodb_uri)}) is not the embedded MongoDB "
            f"`make run` started for {data_dir} (port {owned.mongodb_port})"
        )
    uri = mongodb_uri(owned.mongodb_port)
    listening = port_in_use(LOOPBACK, owned.mongodb_port)
    if listening and not _holds_token(uri, owned.token):
        raise refuse(
            f"the server listening on {LOOPBACK}:{owned.mongodb_port} is not the embedded "
            f"MongoDB `make run` started for {data_dir} (a tunnel or another server?)"
        )
    storage = data_dir / EMBEDDED_STORAGE
    if not listening and EMBEDDED_STORAGE in owned.directories and storage.is_dir():
        directories.append(storage)
    databases = sorted({load_settings(name).database_name for name in DEFAULT_GRPC_PORTS})
    return ResetPlan(databases, uri, listening, directories)


def reset(plan: ResetPlan, settings: StintSettings, emit: Callable[[str], None]) -> None:
    """Deletes what `plan` names."""
    if plan.server_listening and plan.databases:
        client = _client(plan.uri)
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
