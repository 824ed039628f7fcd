"""`make run` in a fresh clone: everything comes up, and SIGTERM or Ctrl-C leaves nothing behind.

The clone is of the working tree as it is, uncommitted changes included (what is tested is
what is on disk; in CI, a clean checkout, that is the commit), without anything git ignores
(no environment, no generated code).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from stint_runtime.edge.launch import edge_serving
from stint_runtime.run import (
    discover_services,
    grpc_port_variable,
    health_status,
    metrics_port_variable,
)
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import DEFAULT_GRPC_PORTS
from stint_runtime.stack.processes import free_port, port_in_use

from tests.support.stack_processes import ProcessId, descendants, wait_all_gone

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPOSITORY = Path(__file__).resolve().parents[2]
READY = re.compile(r"stint: ready in ([0-9.]+)s")
FIRST_READY_TIMEOUT = 600.0  # creates the environment: uv sync and code generation
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 90.0  # services get their shutdown grace before the stack stops
INHERITED_TO_DROP = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH", "STINT_STACK_BACKEND")


def overlay_working_tree(clone: Path) -> None:
    """Make the clone of HEAD match the working tree: changed, new and deleted files."""

    def listed(*options: str) -> list[str]:
        output = subprocess.run(
            ["git", "ls-files", "-z", "--exclude-standard", *options],
            cwd=REPOSITORY,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return list(filter(None, output.split("\0")))

    for name in listed("--deleted"):
        (clone / name).unlink(missing_ok=True)
    for name in listed("--modified", "--others"):
        source = REPOSITORY / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            (clone / name).write_bytes(source.read_bytes())
            (clone / name).chmod(source.stat().st_mode)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clone = tmp_path_factory.mktemp("clone") / "stint"
    subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(clone)], check=True)
    overlay_working_tree(clone)
    return clone


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """Free ports instead of the defaults, so a developer's own `make run` does not clash."""
    return {
        "STINT_KAFKA_PORT": free_port(),
        "STINT_MONGODB_PORT": free_port(),
        "STINT_SMTP_PORT": free_port(),
        "STINT_EDGE_PORT": free_port(),
        **{grpc_port_variable(name): free_port() for name in DEFAULT_GRPC_PORTS},
        **{metrics_port_variable(name): free_port() for name in DEFAULT_GRPC_PORTS},
    }


def make_env(ports: dict[str, int]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in INHERITED_TO_DROP and "KAFKA" not in k and "MONGODB" not in k
    }
    return {**env, **{name: str(port) for name, port in ports.items()}}


class MakeRun:
    """`make run` in its own session, its output in a file, its process tree recorded."""

    def __init__(self, clone: Path, ports: dict[str, int], log: Path) -> None:
        self.clone = clone
        self.log = log
        self.started = time.monotonic()
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=clone,
                env=make_env(ports),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.tree: set[ProcessId] = set()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> float:
        """Seconds from `make run` to its ready line; records every process started meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.tree |= descendants(self.process.pid)
            if READY.search(self.output()):
                self.tree |= descendants(self.process.pid)
                return time.monotonic() - self.started
            if self.process.poll() is not None:
                raise AssertionError(f"make run exited early:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        raise AssertionError(f"make run not ready after {timeout:.0f}s:\n{self.output()[-4000:]}")

    def stop(self) -> None:
        """Last resort after a failure: the whole session, SIGTERM then SIGKILL."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def assert_up(run: MakeRun, clone: Path, ports: dict[str, int]) -> None:
    services = discover_services(clone)
    for name in services:
        assert health_status(f"127.0.0.1:{ports[grpc_port_variable(name)]}") == "SERVING", name
        assert_metrics(name, ports[metrics_port_variable(name)])
    for variable in ("STINT_KAFKA_PORT", "STINT_MONGODB_PORT", "STINT_SMTP_PORT"):
        assert port_in_use("127.0.0.1", ports[variable]), f"nothing listens on {variable}"
    running = descendants(run.process.pid)  # run.py, kafka, mongodb, smtp and the services
    assert edge_serving(ports["STINT_EDGE_PORT"]), "the HTTP/JSON edge is not answering"
    # kafka, mongodb, smtp, the payment provider, the edge and the services
    assert len(running) == 5 + len(services), [p.command() for p in running]
    described = RunningPlatform.read(clone / ".stint")
    assert described is not None, "no .stint/platform.json while running"
    assert set(described.grpc) == set(services)
    assert Path(described.maildir).is_dir()
    assert Path(described.clock_file).is_file()
    output = run.output()
    assert "emails land in the SMTP sink's mailbox: .stint/mail/" in output, output[-3000:]
    assert "stint token --role" in output
    assert "stops everything" in output


RUNTIME_SERIES = (
    "stint_outbox_pending",
    "stint_outbox_parked",
    "stint_outbox_oldest_pending_age_seconds",
    "stint_timers_due",
)
CONSUMER_SERIES = ("stint_consumer_lag", "stint_events_processed_total")


def assert_metrics(service: str, port: int) -> None:
    """/metrics answers in the Prometheus text format with the runtime's series."""
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + 30  # gauges appear once the relay and timers made a pass
    while True:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        missing = [name for name in RUNTIME_SERIES if f"\n{name}{{" not in text]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert missing == [], f"{service} /metrics lacks {missing}"
    assert "target_info" in text
    assert f'service_name="{service}"' in text


def assert_nothing_left(run: MakeRun, ports: dict[str, int], signal_name: str) -> None:
    left = wait_all_gone(run.tree, timeout=10)
    assert left == [], f"left running: {[p.command() for p in left]}"
    taken = [name for name, port in ports.items() if port_in_use("127.0.0.1", port)]
    assert taken == [], f"ports still in use: {taken}"
    output = run.output()
    assert f"stint: stopped on {signal_name}" in output, output[-4000:]
    assert RunningPlatform.read(run.clone / ".stint") is None, "platform.json left behind"


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(f"\n[make run] {line}")


def test_make_run_from_a_fresh_clone_comes_up_and_stops_on_sigterm_then_on_ctrl_c(
    fresh_clone: Path,
    ports: dict[str, int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = MakeRun(fresh_clone, ports, tmp_path / "first.log")
    try:
        to_ready = first.wait_ready(FIRST_READY_TIMEOUT)
        assert_up(first, fresh_clone, ports)
        stopping = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=STOP_TIMEOUT)
        stop_seconds = time.monotonic() - stopping
    finally:
        first.stop()
    assert_nothing_left(first, ports, "SIGTERM")
    stack_ready = READY.search(first.output())
    services = ", ".join(discover_services(fresh_clone)) or "none yet"
    report(
        capsys,
        f"fresh clone: ready {to_ready:.1f}s after `make run` (setup included; run.py reported "
        f"{stack_ready.group(1) if stack_ready else '?'}s), services: {services}; "
        f"SIGTERM stopped it in {stop_seconds:.1f}s",
    )

    second = MakeRun(fresh_clone, ports, tmp_path / "second.log")
    try:
        to_ready = second.wait_ready(READY_TIMEOUT)
        assert_up(second, fresh_clone, ports)
        stopping = time.monotonic()
        os.killpg(second.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        second.process.wait(timeout=STOP_TIMEOUT)
        stop_seconds = time.monotonic() - stopping
    finally:
        second.stop()
    assert_nothing_left(second, ports, "SIGINT")
    report(
        capsys,
        f"again, set up: ready in {to_ready:.1f}s; Ctrl-C stopped it in {stop_seconds:.1f}s",
    )
