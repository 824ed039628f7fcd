"""SIGTERM: health turns NOT_SERVING, in-flight calls finish, the consumer commits, exit 0."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient
from stint.listings.v1 import service_pb2, service_pb2_grpc
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.settings import StintSettings

from tests.support.grpc_listings import create_request
from tests.support.service_probe import SEEN, committed_lag, entered, probe_process, release
from tests.support.service_process import wait_serving
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_sigterm_drains_calls_turns_not_serving_and_exits_cleanly(
    probe_settings: StintSettings, tmp_path: Path
) -> None:
    process = probe_process(probe_settings, tmp_path)
    process.start()
    mongo: MongoClient[dict[str, Any]] = MongoClient(probe_settings.mongodb_uri)
    db = mongo[probe_settings.database_name]
    try:
        async with insecure_channel(probe_settings.grpc_address) as channel:
            await wait_serving(channel, process)
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            token = mint_token(probe_settings, sub="emp-1", role="employer", org="org-1")
            created = await stub.CreateListing(
                create_request(),
                metadata=call_metadata(token=token, idempotency_key=new_idempotency_key()),
            )
            await eventually(
                lambda: asyncio.to_thread(db[SEEN].find_one, {"listing_id": created.listing.id}),
                what="the probe's consumer to handle its own event",
            )

            watch = health.Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == SERVING
            in_flight = asyncio.ensure_future(
                stub.GetListing(service_pb2.GetListingRequest(listing_id="hold-drain"), timeout=60)
            )
            await entered(db, "drain")
            assert process.pid is not None
            os.kill(process.pid, signal.SIGTERM)

            assert (await asyncio.wait_for(watch.read(), 10)).status == NOT_SERVING
            # The call is released only once the server refuses new calls: it must have been
            # kept through the drain, however long that takes, not finished by luck before it.
            await eventually(lambda: refuses_new_calls(health), what="new calls refused")
            assert not in_flight.done(), "the held call ended before it was released"
            await release(db, "drain")
            finished = await in_flight
            assert finished.listing.id == "hold-drain"
        exit_code = await asyncio.to_thread(process.process.wait, 30)  # type: ignore[union-attr]
        assert exit_code == 0, process.log_tail()
        log = (tmp_path / "probe.log").read_text()
        assert "service stopped" in log
        assert await committed_lag(probe_settings) == 0
    finally:
        process.stop()
        mongo.close()


async def refuses_new_calls(health: health_pb2_grpc.HealthStub) -> bool:
    try:
        await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.aio.AioRpcError as error:
        return error.code() == grpc.StatusCode.UNAVAILABLE
    return False
