"""`python -m stint_runtime.run` starts the stack and the services, reports, and stops them all."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from stint_runtime.run import health_status
from stint_runtime.stack.processes import ManagedProcess, free_port

from tests.support import run_fake_service
from tests.support.stack_processes import ProcessId, descendants, wait_all_gone, wait_for_text

pytestmark = pytest.mark.integration


def repository_with_fake_listings(root: Path) -> Path:
    """A repository layout whose only service is the fake one."""
    package = root / "services" / "listings" / "stint_listings"
    package.mkdir(parents=True)
    (package / "__init__.py").touch()
    shutil.copy(run_fake_service.__file__, package / "__main__.py")
    return root


def start_run(tmp_path: Path, grpc_port: int, *args: str, **env: str) -> ManagedProcess:
    run = ManagedProcess(
        "run",
        [
            sys.executable,
            "-m",
            "stint_runtime.run",
            "--root",
            str(repository_with_fake_listings(tmp_path / "repo")),
            "--data-dir",
            str(tmp_path / "data"),
            "--kafka-port",
            str(free_port()),
            "--mongodb-port",
            str(free_port()),
            "--smtp-port",
            str(free_port()),
            *args,
        ],
        tmp_path / "run.out",
        env={
            "STINT_LISTINGS_GRPC_PORT": str(grpc_port),
            "STINT_EDGE_PORT": str(free_port()),
            **env,
        },
    )
    run.start()
    return run


def test_run_serves_every_service_then_sigterm_stops_all_of_it(tmp_path: Path) -> None:
    port = free_port()
    run = start_run(tmp_path, port, FAKE_SERVING_AFTER="2.5")
    try:
        output = wait_for_text(run.log_path, "Ctrl-C (or SIGTERM) stops", 60, run.running)
        tree = descendants(run.pid or 0)

        assert health_status(f"127.0.0.1:{port}") == "SERVING"
        assert "waiting for listings (NOT_SERVING)" in output
        assert f"{'listings':<24}127.0.0.1:{port} (gRPC, SERVING)" in output
        assert "stint token --role employer" in output
        # kafka, mongodb, smtp, listings and the HTTP/JSON edge in front of it
        assert len(tree) == 5, [p.command() for p in tree]

        assert run.process is not None
        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(timeout=60) == 0
    finally:
        run.stop()

    assert wait_all_gone(tree, timeout=5) == []
    output = run.log_path.read_text()
    assert output.index("stopping services") < output.index("stopping the infrastructure")
    assert "stopped cleanly" in (tmp_path / "data" / "logs" / "listings.log").read_text()


def test_a_service_that_crashes_stops_everything_and_shows_its_log(tmp_path: Path) -> None:
    run = start_run(tmp_path, free_port(), FAKE_EXIT_AFTER="1")
    # Once `run` is reaped its children are re-parented: record the tree while it lives.
    seen: dict[ProcessId, str] = {}
    left: list[ProcessId] = []
    try:
        assert run.process is not None
        deadline = time.monotonic() + 60
        while run.process.poll() is None and time.monotonic() < deadline:
            seen.update((p, p.command()) for p in descendants(run.pid or 0))
            time.sleep(0.05)
        code = run.process.wait(timeout=1)
    finally:
        run.stop()
        left = wait_all_gone(set(seen), timeout=5)
        for process in left:  # a failure must not leak the stack into later tests
            os.kill(process.pid, signal.SIGKILL)

    output = run.log_path.read_text()
    assert code == 1, output
    assert left == [], f"left running after the crash: {[seen[p] for p in left]}"
    assert len(seen) >= 4, seen  # kafka, mongodb, smtp, listings (the edge starts after)
    assert "listings exited with code 3" in output
    assert "fake service crashing on purpose" in output


def test_a_taken_service_port_fails_fast_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = start_run(tmp_path, port)
        try:
            assert run.process is not None
            code = run.process.wait(timeout=30)
        finally:
            run.stop()

    output = run.log_path.read_text()
    assert code == 2, output
    assert f"port {port}" in output
    assert "STINT_LISTINGS_GRPC_PORT" in output
    assert not (tmp_path / "data" / "logs").exists(), "nothing should have started"


def test_a_taken_stack_port_fails_fast_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = start_run(tmp_path, free_port(), "--stack-only", "--kafka-port", str(port))
        try:
            assert run.process is not None
            code = run.process.wait(timeout=30)
        finally:
            run.stop()

    output = run.log_path.read_text()
    assert code == 2, output
    assert f"port {port}" in output
    assert "STINT_KAFKA_PORT or --kafka-port" in output


def test_stack_only_starts_no_service_and_stops_on_sigint(tmp_path: Path) -> None:
    run = start_run(tmp_path, free_port(), "--stack-only")
    try:
        output = wait_for_text(run.log_path, "Ctrl-C (or SIGTERM) stops", 60, run.running)
        tree = descendants(run.pid or 0)
        assert run.process is not None
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=30) == 0
    finally:
        run.stop()

    assert "services: --stack-only" in output
    assert len(tree) == 3
    assert wait_all_gone(tree, timeout=5) == []
