"""Stint services as real processes (`python -m stint_<name>`), configured only by environment."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import ManagedProcess

from tests.support.messaging_kit import REPO_ROOT

SERVING = health_pb2.HealthCheckResponse.SERVING


class ServiceProcess:
    """One service as `make run` starts it; each start is a new process on the same port."""

    def __init__(self, settings: StintSettings, log_dir: Path) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.log_dir = log_dir
        self.runs = 0
        self.process: ManagedProcess | None = None

    def environment(self, clock_offset: timedelta) -> dict[str, str]:
        group, metrics_port = self.settings.kafka_consumer_group, self.settings.metrics_port
        return {
            **({"STINT_KAFKA_CONSUMER_GROUP": group} if group else {}),
            **({"STINT_METRICS_PORT": str(metrics_port)} if metrics_port is not None else {}),
            "STINT_GRPC_PORT": str(self.settings.grpc_port),
            "STINT_MONGODB_URI": self.settings.mongodb_uri,
            "STINT_KAFKA_BOOTSTRAP_SERVERS": self.settings.kafka_bootstrap_servers,
            "STINT_MONGODB_DATABASE": self.settings.database_name,
            "STINT_CLOCK_OFFSET_SECONDS": str(clock_offset.total_seconds()),
            "STINT_TIMER_POLL_SECONDS": "0.2",
            "STINT_OUTBOX_POLL_SECONDS": "0.1",
            "STINT_SHUTDOWN_GRACE_SECONDS": "5",
            "STINT_ENVIRONMENT": self.settings.environment,
            "STINT_JWT_SECRET": self.settings.jwt_secret.get_secret_value(),
            "STINT_JWT_ISSUER": self.settings.jwt_issuer,
            "STINT_JWT_AUDIENCE": self.settings.jwt_audience,
        }

    def start(
        self, clock_offset: timedelta = timedelta(0), extra_env: dict[str, str] | None = None
    ) -> ManagedProcess:
        self.runs += 1
        self.process = ManagedProcess(
            f"{self.name} run {self.runs}",
            [sys.executable, "-m", f"stint_{self.name}"],
            self.log_dir / f"{self.name}-{self.runs}.log",
            env={**self.environment(clock_offset), **(extra_env or {})},
            cwd=REPO_ROOT,
        )
        self.process.start()
        return self.process

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.stop(timeout=30)
        return self.process.returncode

    async def wait_serving(self, channel: grpc.aio.Channel, limit: float = 60.0) -> None:
        assert self.process is not None
        await wait_serving(channel, self.process, limit)


async def wait_serving(
    channel: grpc.aio.Channel, process: ManagedProcess, limit: float = 60.0
) -> None:
    """Until the process's gRPC health says SERVING; fails with its log if it dies or stalls."""
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.running(), f"{process.name} exited:\n{process.log_tail()}"
        try:
            reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status == SERVING:
                return
        except grpc.aio.AioRpcError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{process.name} never SERVING:\n{process.log_tail()}")
