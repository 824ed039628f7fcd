"""Helpers for messaging and persistence tests: settings, raw topic reads, child processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

from tests.support.waiting import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
# The shared wait under the name the messaging and outbox tests import.
wait_for = eventually
Records = list[Any]


def settings_for(infra: Endpoints, service: str = "testsvc", **overrides: Any) -> StintSettings:
    return StintSettings(
        service_name=service,
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_uri=infra.mongodb_uri,
        **overrides,
    )


async def read_topic(
    bootstrap_servers: str,
    topic: str,
    *,
    until: Callable[[Records], bool],
    limit: float = 30.0,
) -> Records:
    """Every record of `topic` from the beginning, read (without a group) until `until` holds."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: Records = []
    try:
        deadline = time.monotonic() + limit
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{topic}: condition not met within {limit}s; read {len(records)} records"
                )
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def envelopes(records: Records) -> list[EventEnvelope]:
    return [EventEnvelope.FromString(r.value) for r in records]


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode()
    return None


async def committed_offset(bootstrap_servers: str, group_id: str, topic: str) -> int | None:
    """What `group_id` committed for partition 0 of `topic` (None: nothing), without joining."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()
    return offset


def start_child(module: str, args: Sequence[str], log_path: Path) -> subprocess.Popen[str]:
    """Start `python -m <module>` from the repository root, stdout piped, stderr to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def wait_for_line(
    child: subprocess.Popen[str], expected: str, *, limit: float, log_path: Path
) -> None:
    """Read the child's stdout until a line equals `expected`."""
    assert child.stdout is not None
    stdout = child.stdout

    def scan() -> bool:
        return any(line.strip() == expected for line in stdout)

    try:
        found = await asyncio.wait_for(asyncio.to_thread(scan), limit)
    except TimeoutError:
        child.kill()
        log = await asyncio.to_thread(log_path.read_text)
        raise AssertionError(f"child did not print {expected!r} in {limit}s; log:\n{log}") from None
    if not found:
        log = await asyncio.to_thread(log_path.read_text)
        raise AssertionError(f"child exited ({child.wait()}) before {expected!r}; log:\n{log}")


async def wait_exit(child: subprocess.Popen[str], *, limit: float, log_path: Path) -> int:
    try:
        return await asyncio.wait_for(asyncio.to_thread(child.wait), limit)
    except TimeoutError:
        child.kill()
        log = await asyncio.to_thread(log_path.read_text)
        raise AssertionError(f"child did not exit in {limit}s; log:\n{log}") from None
