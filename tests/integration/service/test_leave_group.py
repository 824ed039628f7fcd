"""SIGTERM makes a service leave its consumer group: its partitions move at once, not after the
session timeout."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from stint.topics import LISTINGS
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.settings import StintSettings

from tests.support.service_probe import probe_process
from tests.support.service_process import wait_serving

pytestmark = pytest.mark.integration

SESSION_TIMEOUT_MS = 30_000  # a member that does not leave holds its partitions this long


async def owned_partitions(consumer: AIOKafkaConsumer) -> int:
    await consumer.getmany(timeout_ms=200)  # drives the group protocol
    return len(consumer.assignment())


async def test_after_sigterm_another_member_gets_the_partitions_well_within_the_session_timeout(
    probe_settings: StintSettings, tmp_path: Path
) -> None:
    await ensure_topics(probe_settings.kafka_bootstrap_servers, [LISTINGS])
    process = probe_process(
        probe_settings,
        tmp_path,
        {"STINT_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS)},
    )
    process.start()
    successor = AIOKafkaConsumer(
        LISTINGS,
        bootstrap_servers=probe_settings.kafka_bootstrap_servers,
        group_id=probe_settings.service_name,
        enable_auto_commit=False,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        rebalance_timeout_ms=10_000,
    )
    try:
        async with insecure_channel(probe_settings.grpc_address) as channel:
            await wait_serving(channel, process)
        await successor.start()
        total = len(successor.partitions_for_topic(LISTINGS) or ())
        deadline = time.monotonic() + 60
        while await owned_partitions(successor) in (0, total):  # until the two share them
            assert time.monotonic() < deadline, "the group never split the partitions"

        assert process.pid is not None
        os.kill(process.pid, signal.SIGTERM)
        stopped_at = time.monotonic()
        while await owned_partitions(successor) < total:
            assert time.monotonic() - stopped_at < 2 * SESSION_TIMEOUT_MS / 1000
        # A member that does not leave keeps its partitions for the whole session timeout
        # (then the rebalance follows); one that leaves hands them over at the next rebalance.
        waited = time.monotonic() - stopped_at
        assert waited < SESSION_TIMEOUT_MS / 1000, f"the partitions moved only after {waited:.0f}s"
        exit_code = await asyncio.to_thread(process.process.wait, 30)  # type: ignore[union-attr]
        assert exit_code == 0, process.log_tail()
    finally:
        await successor.stop()
        process.stop()
