"""The platform the demo drives: the running `make run` (its platform.json), or one started
for the demo (the same `stint_runtime.run`, on free ports, in a temporary data directory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from stint_runtime.run import grpc_port_variable, health_status, metrics_port_variable
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import DEFAULT_GRPC_PORTS
from stint_runtime.stack.backends import BACKEND_VARIABLE, KAFKA_VARIABLES, MONGODB_VARIABLES
from stint_runtime.stack.processes import free_port

READY_TIMEOUT = 180.0
STOP_TIMEOUT = 60.0


def serving(platform: RunningPlatform) -> bool:
    return set(platform.grpc) == set(DEFAULT_GRPC_PORTS) and all(
        health_status(address) == "SERVING" for address in platform.grpc.values()
    )


def free_ports_env() -> dict[str, str]:
    ports = {name: str(free_port()) for name in ("KAFKA", "MONGODB", "SMTP")}
    env = {f"STINT_{name}_PORT": port for name, port in ports.items()}
    for service in DEFAULT_GRPC_PORTS:
        env[grpc_port_variable(service)] = str(free_port())
        env[metrics_port_variable(service)] = str(free_port())
    env["STINT_PAYMENT_PROVIDER_PORT"] = str(free_port())
    env["STINT_EDGE_PORT"] = str(free_port())
    return env


def own_platform_env(environ: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """The environment of the demo's own platform: embedded servers on free ports, nothing
    inherited that could point it at a developer's or a shared Kafka/MongoDB."""
    inherited = {*KAFKA_VARIABLES, *MONGODB_VARIABLES, "STINT_CLOCK_FILE"}
    env = {k: v for k, v in environ.items() if k not in inherited and not k.endswith("_PORT")}
    env.update(free_ports_env())
    env[BACKEND_VARIABLE] = "embedded"
    env["STINT_DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def started_platform(extra_env: Mapping[str, str] | None = None) -> Iterator[RunningPlatform]:
    """`python -m stint_runtime.run` in a temporary data directory; SIGTERM when done."""
    with tempfile.TemporaryDirectory(prefix="stint-demo-") as tmp:
        data_dir = Path(tmp)
        env = own_platform_env(os.environ, data_dir)
        env.update(extra_env or {})
        log = data_dir / "run.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "stint_runtime.run"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            yield wait_described(data_dir, process, log)
        finally:
            stop(process)


def wait_described(data_dir: Path, process: subprocess.Popen[bytes], log: Path) -> RunningPlatform:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        platform = RunningPlatform.read(data_dir)
        if platform is not None:
            return platform
        if process.poll() is not None:
            raise RuntimeError(f"the platform exited during start-up:\n{log.read_text()[-3000:]}")
        time.sleep(0.25)
    raise RuntimeError(f"the platform was not ready in {READY_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
