"""SIGTERM: health turns NOT_SERVING, in-flight calls finish, the consumer commits, exit 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stint.listings.v1 import service_pb2, service_pb2_grpc
from stint.topics import LISTINGS
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import ManagedProcess

from tests.support.grpc_listings import create_request
from tests.support.service_probe import SEEN, SLOW_CALL_STARTED
from tests.support.service_process import wait_serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def probe_process(settings: StintSettings, log_dir: Path) -> ManagedProcess:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "MONGODB_URI": settings.mongodb_uri,
        "STINT_GRPC_PORT": str(settings.grpc_port),
        "STINT_SHUTDOWN_GRACE_SECONDS": str(settings.shutdown_grace_seconds),
        "STINT_ENVIRONMENT": "test",
    }
    return ManagedProcess(
        settings.service_name,
        [sys.executable, "-m", "tests.support.service_probe", settings.service_name],
        log_dir / "probe.log",
        env=env,
        cwd=ROOT,
    )


async def committed_lag(settings: StintSettings) -> int:
    """Events on the topic that the service's consumer group has not committed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.service_name,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(LISTINGS, p) for p in consumer.partitions_for_topic(LISTINGS) or ()
        ]
        assert partitions, f"{LISTINGS} has no partitions"
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            lag += ends[tp] - (committed or 0)
        return lag
    finally:
        await consumer.stop()


async def test_sigterm_drains_calls_turns_not_serving_and_exits_cleanly(
    probe_settings: StintSettings, tmp_path: Path
) -> None:
    process = probe_process(probe_settings, tmp_path)
    process.start()
    try:
        async with insecure_channel(probe_settings.grpc_address) as channel:
            await wait_serving(channel, process)
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            token = mint_token(probe_settings, sub="emp-1", role="employer", org="org-1")
            created = await stub.CreateListing(
                create_request(),
                metadata=call_metadata(token=token, idempotency_key=new_idempotency_key()),
            )
            await wait_until_seen(probe_settings, created.listing.id)

            watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == SERVING
            in_flight = asyncio.ensure_future(
                stub.GetListing(service_pb2.GetListingRequest(listing_id="slow-2"), timeout=30)
            )
            await wait_for_log_line(tmp_path / "probe.log", SLOW_CALL_STARTED)
            assert process.pid is not None
            os.kill(process.pid, signal.SIGTERM)

            assert (await asyncio.wait_for(watch.read(), 10)).status == NOT_SERVING
            finished = await in_flight
            assert finished.listing.id == "slow-2"
        exit_code = await asyncio.to_thread(process.process.wait, 30)  # type: ignore[union-attr]
        assert exit_code == 0, process.log_tail()
        log = (tmp_path / "probe.log").read_text()
        assert "service stopped" in log
        assert await committed_lag(probe_settings) == 0
    finally:
        process.stop()


async def wait_until_seen(settings: StintSettings, listing_id: str) -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(settings.mongodb_uri)
    try:
        seen = client[settings.database_name][SEEN]
        for _ in range(300):
            if await asyncio.to_thread(seen.find_one, {"listing_id": listing_id}):
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the probe's consumer never handled its own event")
    finally:
        client.close()


async def wait_for_log_line(path: Path, text: str) -> None:
    for _ in range(200):
        if text in await asyncio.to_thread(path.read_text, errors="replace"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")
