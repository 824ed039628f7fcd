"""Which infrastructure to use: external servers, Docker containers or the embedded stack."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from stint_runtime.stack.embedded import (
    LOOPBACK,
    EmbeddedStack,
    Endpoints,
    mongodb_ready,
    smtp_sink_process,
)
from stint_runtime.stack.processes import (
    ManagedProcess,
    PortInUseError,
    free_port,
    port_in_use,
    port_open,
    wait_until,
)

Label = Literal["external", "testcontainers", "embedded"]
Choice = Literal["auto", "external", "testcontainers", "embedded"]
BACKEND_VARIABLE = "STINT_STACK_BACKEND"
KAFKA_VARIABLES = ("STINT_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS")
MONGODB_VARIABLES = ("STINT_MONGODB_URI", "MONGODB_URI")
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
MONGODB_IMAGE = "mongo:7.0"
CONTAINER_START_TIMEOUT = 120.0


class BackendError(RuntimeError):
    """The environment asks for infrastructure that cannot be provided."""


@dataclass(frozen=True)
class Backend:
    """The chosen infrastructure: where it listens, and the logs and mail of what runs locally."""

    label: Label
    endpoints: Endpoints
    logs: dict[str, Path] = field(default_factory=dict)
    maildir: Path | None = None
    processes: tuple[ManagedProcess, ...] = ()


def docker_engine_reachable() -> bool:
    """True when a Docker engine answers (a `docker` client alone is not enough)."""
    try:
        from testcontainers.core.docker_client import DockerClient

        client = DockerClient()
    except Exception:
        return False
    client.client.close()
    return True


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    """The first non-empty variable, in the order the settings read them."""
    return next((env[name] for name in names if env.get(name)), "")


def external_servers(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(Kafka bootstrap servers, MongoDB URI) when both are set, None when neither is."""
    kafka, mongodb = _first(env, KAFKA_VARIABLES), _first(env, MONGODB_VARIABLES)
    if kafka and mongodb:
        return kafka, mongodb
    if kafka or mongodb:
        present, missing = (
            ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI")
            if kafka
            else ("MONGODB_URI", "KAFKA_BOOTSTRAP_SERVERS")
        )
        raise BackendError(
            f"{present} is set but {missing} is not: set both to use external servers, "
            "or neither to use local ones"
        )
    return None


def select_backend(
    env: Mapping[str, str],
    docker_probe: Callable[[], bool] = docker_engine_reachable,
    *,
    use_docker: bool = True,
) -> Label:
    """STINT_STACK_BACKEND if set; else external servers if configured; else Docker; else embedded.

    `use_docker=False` skips the Docker probe unless STINT_STACK_BACKEND asks for containers.
    """
    choice = env.get(BACKEND_VARIABLE) or "auto"
    if choice not in get_args(Choice):
        raise BackendError(f"{BACKEND_VARIABLE}={choice!r}: expected one of {get_args(Choice)}")
    if choice == "embedded":
        return "embedded"
    external = external_servers(env)
    if choice == "external" and external is None:
        raise BackendError(
            f"{BACKEND_VARIABLE}=external needs KAFKA_BOOTSTRAP_SERVERS and MONGODB_URI"
        )
    if external is not None and choice in ("auto", "external"):
        return "external"
    if choice == "testcontainers" or use_docker:
        if docker_probe():
            return "testcontainers"
        if choice == "testcontainers":
            raise BackendError(
                f"{BACKEND_VARIABLE}=testcontainers but no Docker engine is reachable"
            )
    return "embedded"


@contextmanager
def infrastructure(
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    docker_probe: Callable[[], bool] = docker_engine_reachable,
    use_docker: bool = True,
    kafka_port: int = 0,
    mongodb_port: int = 0,
    smtp_port: int = 0,
) -> Iterator[Backend]:
    """Start (or point at) Kafka, MongoDB and an SMTP sink; stop what was started on exit.

    Ports are those of the embedded servers and the SMTP sink; 0 picks free ones. The SMTP sink
    always runs locally: there is no external mail server in development or tests.
    """
    label = select_backend(os.environ if env is None else env, docker_probe, use_docker=use_docker)
    with ExitStack() as stack:
        if label == "embedded":
            embedded = EmbeddedStack(
                workdir, kafka_port=kafka_port, mongodb_port=mongodb_port, smtp_port=smtp_port
            )
            endpoints = stack.enter_context(embedded)
            yield Backend(
                label, endpoints, embedded.log_paths, embedded.maildir, embedded.processes
            )
            return
        if label == "external":
            servers = external_servers(os.environ if env is None else env)
            assert servers is not None
            kafka, mongodb = servers
        else:
            kafka, mongodb = _start_containers(stack)
        smtp_port = smtp_port or free_port()
        if port_in_use(LOOPBACK, smtp_port):
            raise PortInUseError("smtp", LOOPBACK, smtp_port)
        maildir, log = workdir / "mail", workdir / "logs" / "smtp.log"
        smtp = smtp_sink_process(smtp_port, maildir, log)
        stack.callback(smtp.stop)
        smtp.start()
        smtp.wait_ready(lambda: port_open(LOOPBACK, smtp_port), 30.0)
        endpoints = Endpoints(kafka, mongodb, LOOPBACK, smtp_port)
        yield Backend(label, endpoints, {"smtp": log}, maildir, (smtp,))


def _start_containers(stack: ExitStack) -> tuple[str, str]:
    """A Kafka container and a one-member MongoDB replica set (transactions need one)."""
    from pymongo import MongoClient
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer

    kafka = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
    mongo = stack.enter_context(
        DockerContainer(MONGODB_IMAGE)
        .with_command("--replSet rs0 --bind_ip_all")
        .with_exposed_ports(27017)
    )
    uri = (
        f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}"
        "/?directConnection=true"
    )
    wait_until(lambda: mongodb_ready(uri), CONTAINER_START_TIMEOUT, "MongoDB container")
    client: MongoClient[dict[str, object]] = MongoClient(uri)
    try:
        client.admin.command(
            "replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]}
        )
        wait_until(
            lambda: bool(client.admin.command("hello").get("isWritablePrimary")),
            CONTAINER_START_TIMEOUT,
            "MongoDB replica set primary",
        )
    finally:
        client.close()
    return kafka.get_bootstrap_server(), uri
