"""`python -m stint_runtime.edge` on SIGTERM: a call in flight finishes, then the process exits."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from stint_runtime.edge.config import PORT_VARIABLE, upstream_variable
from stint_runtime.edge.launch import edge_serving
from stint_runtime.stack.processes import free_port

from tests.unit.edge.test_server import Edge, Stub


@pytest.fixture
def stub_port() -> Iterator[tuple[Stub, int]]:
    stub = Stub()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((stub.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield stub, port
    stub.slow_release.set()
    server.stop(0)


def refused(port: int) -> bool:
    """Whether nothing listens on `port` (a full accept queue times out: still listening)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except TimeoutError:
        return False
    return False


def test_sigterm_lets_the_call_in_flight_finish_and_exits_cleanly(
    stub_port: tuple[Stub, int],
) -> None:
    stub, grpc_port = stub_port
    port = free_port()
    env = {
        **os.environ,
        PORT_VARIABLE: str(port),
        upstream_variable("listings"): f"127.0.0.1:{grpc_port}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "stint_runtime.edge"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not edge_serving(port) and time.monotonic() < deadline:
            assert process.poll() is None, "the edge exited while starting"
        assert edge_serving(port)
        answers: list[tuple[int, bytes]] = []

        def slow_request() -> None:
            status, _, body = Edge(stub, port).request("GET", "/v1/listings/slow")
            answers.append((status, body))

        client = threading.Thread(target=slow_request)
        client.start()
        assert stub.slow_entered.wait(10), "the call reached the service"
        process.send_signal(signal.SIGTERM)
        # The edge stops accepting at once, while the call is still in flight.
        deadline = time.monotonic() + 10
        while not refused(port) and time.monotonic() < deadline:
            pass
        assert refused(port)
        assert process.poll() is None, "the edge waits for the call in flight"
        stub.slow_release.set()
        client.join(10)
        assert process.wait(10) == 0
        ((status, body),) = answers
        assert status == 200, body
        assert json.loads(body)["listing"]["id"] == "slow"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
