"""Helpers for messaging and persistence tests: settings, raw topic reads, child processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import Message
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.subscriber import Handler, Subscriber
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
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


async def wait_committed(
    bootstrap_servers: str, topic: str, offset: int, *, group: str | None = None, limit: float = 60
) -> None:
    """Until `group` (default: named after the topic) committed `offset` on partition 0."""

    async def reached() -> bool:
        return await committed_offset(bootstrap_servers, group or topic, topic) == offset

    await wait_for(reached, limit=limit, what=f"offset {offset} committed on {topic}")


async def end_offset(bootstrap_servers: str, topic: str) -> int:
    """How many records `topic` holds, over all its partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(partitions)).values()) if partitions else 0
    finally:
        await consumer.stop()


async def read_all(bootstrap_servers: str, topic: str) -> Records:
    """Every record `topic` holds now (duplicates included)."""
    total = await end_offset(bootstrap_servers, topic)
    return await read_topic(bootstrap_servers, topic, until=lambda records: len(records) >= total)


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


MAX_ATTEMPTS = 3  # the test subscribers' attempt budget


class SubscriberMaker(Protocol):
    """Builds a started-and-stopped-for-you Subscriber on the test topic (fixture `subscribe`)."""

    def __call__(
        self, handlers: Mapping[str, Handler], topics: Sequence[str] = ..., **overrides: Any
    ) -> Subscriber: ...


def envelope_of(event: Message, subject: str) -> EventEnvelope:
    return new_envelope(event, source="test", subject=subject, clock=ManualClock())


def count(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
    """A handler that counts the events of each subject."""
    uow.db.counters.update_one(
        {"_id": envelope.subject}, {"$inc": {"count": 1}}, upsert=True, session=uow.session
    )


def counts(factory: UnitOfWorkFactory) -> dict[str, int]:
    return {doc["_id"]: doc["count"] for doc in factory.db.counters.find()}
