"""SIGTERM to the real listings service with a call in flight: health turns NOT_SERVING, the
call finishes and commits, the process exits 0.

The call is held in flight from outside, with no hook in the product: the service's own
database is stopped (SIGSTOP) while the call waits on it, and /metrics shows the call active.
"""

from __future__ import annotations

import asyncio
import os
import signal
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient
from stint.listings.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.persistence.mongo import Document
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints, mongodb_process, mongodb_ready, mongodb_uri
from stint_runtime.stack.processes import ManagedProcess, free_port

from tests.listings.api.kit import content
from tests.support.isolation import with_own_group
from tests.support.service_process import ServiceProcess
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
ACTIVE_CREATES = "rpc_server_active_requests{"


def active_creates(metrics_url: str) -> float:
    """CreateListing calls in progress, as the service's /metrics reports them."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:  # noqa: S310 - http
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(ACTIVE_CREATES) and 'rpc_method="CreateListing"' in line
    )


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = mongodb_process(free_port(), tmp_path, tmp_path / "mongodb.log")
    process.start()
    yield process
    if process.pid is not None:
        os.kill(process.pid, signal.SIGCONT)
    process.stop()


async def test_sigterm_with_a_call_in_flight_drains_it_and_exits_cleanly(
    infra: Endpoints, database: ManagedProcess, tmp_path: Path
) -> None:
    port = int(database.argv[database.argv.index("--port") + 1])
    await asyncio.to_thread(database.wait_ready, lambda: mongodb_ready(mongodb_uri(port)), 60)
    settings: StintSettings = load_settings("listings").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": mongodb_uri(port),
            "mongodb_database": f"t_listings_sigterm_{uuid.uuid4().hex[:8]}",
        }
    )
    settings = await with_own_group(settings)
    service = ServiceProcess(settings, tmp_path)
    process = service.start()
    metrics_url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    try:
        async with insecure_channel(settings.grpc_address) as channel:
            await service.wait_serving(channel)
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            await watch.read()  # SERVING
            token = mint_token(settings, sub="emp-1", role="employer", org="org-a")
            request = service_pb2.CreateListingRequest(
                employer_org_id="org-a", content=content(SystemClock().now())
            )

            assert database.pid is not None
            os.kill(database.pid, signal.SIGSTOP)  # the call will wait on its database
            in_flight = asyncio.ensure_future(
                stub.CreateListing(
                    request,
                    metadata=call_metadata(token=token, idempotency_key=new_idempotency_key()),
                    timeout=60,
                )
            )
            await eventually(
                lambda: active_creates(metrics_url) >= 1, limit=30, what="the call in flight"
            )
            assert process.pid is not None
            os.kill(process.pid, signal.SIGTERM)
            assert (await asyncio.wait_for(watch.read(), 10)).status == NOT_SERVING
            assert not in_flight.done()

            os.kill(database.pid, signal.SIGCONT)
            created = (await in_flight).listing
            assert created.status == resources_pb2.LISTING_STATUS_DRAFT
        exit_code = await asyncio.to_thread(process.process.wait, 30)  # type: ignore[union-attr]
        assert exit_code == 0, process.log_tail()
        client: MongoClient[Document] = MongoClient(settings.mongodb_uri)
        try:
            stored = client[settings.database_name]["listings"].find_one({"_id": created.id})
            assert stored is not None, "the drained call committed"
        finally:
            client.close()
    finally:
        service.stop()
