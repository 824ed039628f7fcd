"""A stand-in service for run tests, copied in as services/<name>/stint_<name>/__main__.py.

It serves grpc.health.v1 on STINT_GRPC_PORT: NOT_SERVING for FAKE_SERVING_AFTER seconds, then
SERVING; with FAKE_EXIT_AFTER it exits with code 3 that many seconds after SERVING.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{os.environ['STINT_GRPC_PORT']}")
    server.start()
    print(f"kafka at {os.environ['KAFKA_BOOTSTRAP_SERVERS']}", flush=True)
    if not stop.wait(float(os.environ.get("FAKE_SERVING_AFTER", "0"))):
        servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        print("serving", flush=True)
    exit_after = os.environ.get("FAKE_EXIT_AFTER")
    if exit_after is not None and not stop.wait(float(exit_after)):
        print("fake service crashing on purpose", flush=True)
        sys.exit(3)
    stop.wait()
    server.stop(grace=1).wait()
    print("stopped cleanly", flush=True)


if __name__ == "__main__":
    main()
