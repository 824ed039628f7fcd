"""The operator commands against the real broker and database: dead letters listed and
replayed, the outbox's status and re-queue, failed timers; --json and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from stint.listings.v1.events_pb2 import ListingPublished
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import kafka_headers, new_envelope
from stint_runtime.messaging.subscriber import dead_letter_headers
from stint_runtime.messaging.topics import dead_letter_topic, ensure_topics
from stint_runtime.persistence.mongo import Client
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.support.messaging_kit import read_topic

pytestmark = pytest.mark.integration

STINT = str(Path(sys.executable).parent / "stint")


@dataclass
class SourceRecord:
    """What dead_letter_headers reads of the record that failed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def stint(infra: Endpoints, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "MONGODB_URI": infra.mongodb_uri,
    }
    for name in ("STINT_KAFKA_BOOTSTRAP_SERVERS", "STINT_MONGODB_URI", "STINT_MONGODB_DATABASE"):
        env.pop(name, None)
    return subprocess.run(
        [STINT, *args], capture_output=True, text=True, timeout=90, check=False, env=env
    )


@dataclass
class DeadLetters:
    original: str
    topic: str
    event_id: str
    envelope_bytes: bytes


@pytest.fixture
async def dead_letters(infra: Endpoints, unique_name: str) -> DeadLetters:
    """Two dead letters of group "notifications": an event (5 attempts) and garbage (1)."""
    original = f"{unique_name}.src"
    topic = dead_letter_topic("notifications", original)
    await ensure_topics(infra.kafka_bootstrap_servers, [original, topic], partitions=1)
    event_data = ListingPublished(listing_id="lst-9")
    envelope = new_envelope(event_data, source="listings", subject="lst-9", clock=ManualClock())
    event = SourceRecord(
        original, 0, 41, b"lst-9", envelope.SerializeToString(), kafka_headers(envelope)
    )
    garbage = SourceRecord(original, 0, 42, b"k", b"\xffnot an envelope")
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for record, reason, attempts in (
            (event, "ValueError: handler refused", 5),
            (garbage, "InvalidEnvelopeError: not an envelope", 1),
        ):
            headers = dead_letter_headers(
                record, group_id="notifications", reason=reason, attempts=attempts
            )
            await producer.send_and_wait(topic, record.value, key=record.key, headers=headers)
    finally:
        await producer.stop()
    return DeadLetters(original, topic, envelope.id, envelope.SerializeToString())


async def test_dlq_list_shows_reason_attempts_and_origin(
    infra: Endpoints, dead_letters: DeadLetters
) -> None:
    result = stint(infra, "dlq", "list", dead_letters.topic, "--json")

    assert result.returncode == 0, result.stderr
    event, garbage = json.loads(result.stdout)
    assert event["event_id"] == dead_letters.event_id
    assert event["event_type"] == "stint.listings.v1.ListingPublished"
    assert event["key"] == "lst-9"
    assert (event["reason"], event["attempts"], event["group"]) == (
        "ValueError: handler refused",
        5,
        "notifications",
    )
    assert (event["original_topic"], event["original_partition"], event["original_offset"]) == (
        dead_letters.original,
        0,
        41,
    )
    assert event["envelope"]["data"]["listing_id"] == "lst-9"
    assert garbage["event_id"] is None
    assert garbage["undecodable"]
    assert garbage["original_offset"] == 42

    readable = stint(infra, "dlq", "list", dead_letters.topic)
    assert readable.returncode == 0, readable.stderr
    assert f"{dead_letters.topic}: 2 dead letter(s)" in readable.stdout
    assert "reason: ValueError: handler refused" in readable.stdout
    assert f"from {dead_letters.original} partition 0 offset 41" in readable.stdout


async def test_dlq_replay_republishes_the_original_record_without_dead_letter_headers(
    infra: Endpoints, dead_letters: DeadLetters
) -> None:
    result = stint(
        infra, "dlq", "replay", dead_letters.topic, "--event-id", dead_letters.event_id, "--json"
    )

    assert result.returncode == 0, result.stderr
    [sent] = json.loads(result.stdout)["replayed"]
    assert (sent["event_id"], sent["topic"]) == (dead_letters.event_id, dead_letters.original)
    [record] = await read_topic(
        infra.kafka_bootstrap_servers, dead_letters.original, until=lambda rs: len(rs) >= 1
    )
    assert (record.key, record.value) == (b"lst-9", dead_letters.envelope_bytes)
    names = [name for name, _ in record.headers]
    assert "ce_id" in names
    assert not [name for name in names if name.startswith("dlt-")]


async def test_dlq_replay_all_and_an_unknown_event_id(
    infra: Endpoints, dead_letters: DeadLetters
) -> None:
    unknown = stint(infra, "dlq", "replay", dead_letters.topic, "--event-id", "evt-nope")
    assert unknown.returncode == 3
    assert "no dead letter with event id 'evt-nope'" in unknown.stderr

    replayed = stint(infra, "dlq", "replay", dead_letters.topic, "--all")
    assert replayed.returncode == 0, replayed.stderr
    assert f"replayed 2 record(s) from {dead_letters.topic}" in replayed.stdout
    records = await read_topic(
        infra.kafka_bootstrap_servers, dead_letters.original, until=lambda rs: len(rs) >= 2
    )
    assert sorted(r.key for r in records) == [b"k", b"lst-9"]


def test_dlq_list_of_a_missing_topic_fails_clearly(infra: Endpoints, unique_name: str) -> None:
    result = stint(infra, "dlq", "list", f"{unique_name}.dlt")
    assert result.returncode == 1
    assert f"topic '{unique_name}.dlt' does not exist" in result.stderr


def _outbox_record(event_id: str, created_at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "_id": event_id,
        "topic": "listings.v1",
        "key": "lst-1",
        "type": "stint.listings.v1.ListingPublished",
        "sequence": 1,
        "order": 1,
        "envelope": b"\x0a\x01x",
        "created_at": created_at,
        "published_at": None,
        **fields,
    }


@pytest.fixture
def service(mongo: Client, unique_name: str) -> str:
    """A service whose outbox holds 2 pending, 1 published and 1 parked record."""
    now = datetime.now(UTC)
    mongo[f"stint_{unique_name}"]["outbox"].insert_many(
        [
            _outbox_record("evt-old", now - timedelta(hours=2)),
            _outbox_record("evt-new", now - timedelta(minutes=1), attempts=1, last_error="slow"),
            _outbox_record("evt-sent", now - timedelta(hours=5), published_at=now),
            _outbox_record(
                "evt-parked",
                now - timedelta(hours=9),
                attempts=5,
                last_error="MessageSizeTooLargeError",
                parked_at=now - timedelta(hours=8),
                parked_reason="MessageSizeTooLargeError: 2 MB",
            ),
        ]
    )
    return unique_name


def test_outbox_status_counts_pending_and_parked(infra: Endpoints, service: str) -> None:
    result = stint(infra, "outbox", "status", service, "--json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert (status["pending"], status["parked"]) == (2, 1)
    assert 2 * 3600 <= status["oldest_pending_age_seconds"] < 3 * 3600
    [parked] = status["parked_records"]
    assert (parked["id"], parked["attempts"]) == ("evt-parked", 5)
    assert parked["reason"] == "MessageSizeTooLargeError: 2 MB"

    readable = stint(infra, "outbox", "status", service)
    assert readable.returncode == 0, readable.stderr
    assert "pending: 2" in readable.stdout
    assert "parked: 1" in readable.stdout
    assert "evt-parked" in readable.stdout


def test_outbox_requeue_unparks_only_a_parked_record(
    infra: Endpoints, mongo: Client, service: str
) -> None:
    result = stint(infra, "outbox", "requeue", service, "evt-parked")

    assert result.returncode == 0, result.stderr
    assert "requeued evt-parked" in result.stdout
    record = mongo[f"stint_{service}"]["outbox"].find_one({"_id": "evt-parked"})
    assert record is not None
    assert "parked_at" not in record
    assert "parked_reason" not in record
    assert record["attempts"] == 0
    status = json.loads(stint(infra, "outbox", "status", service, "--json").stdout)
    assert (status["pending"], status["parked"]) == (3, 0)

    again = stint(infra, "outbox", "requeue", service, "evt-parked")
    assert again.returncode == 3
    assert "is not parked (pending)" in again.stderr
    unknown = stint(infra, "outbox", "requeue", service, "evt-nope")
    assert unknown.returncode == 3
    assert "no outbox record 'evt-nope'" in unknown.stderr


def test_timers_failed_lists_the_failed_timers(
    infra: Endpoints, mongo: Client, service: str
) -> None:
    failed_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    mongo[f"stint_{service}"]["failed_timers"].insert_one(
        {
            "_id": "engagements:eng-1:auto_approve",
            "collection": "engagements",
            "aggregate_id": "eng-1",
            "name": "auto_approve",
            "due_at": failed_at - timedelta(hours=1),
            "failures": 10,
            "reason": "KeyError: 'fee'",
            "failed_at": failed_at,
        }
    )

    result = stint(infra, "timers", "failed", service, "--json")

    assert result.returncode == 0, result.stderr
    [timer] = json.loads(result.stdout)
    assert timer["id"] == "engagements:eng-1:auto_approve"
    assert (timer["failures"], timer["reason"]) == (10, "KeyError: 'fee'")
    assert timer["failed_at"] == failed_at.isoformat()
    readable = stint(infra, "timers", "failed", service)
    assert "1 failed timer(s)" in readable.stdout
    assert "auto_approve of engagements eng-1" in readable.stdout


def test_a_service_without_an_outbox_is_an_error(infra: Endpoints, unique_name: str) -> None:
    result = stint(infra, "outbox", "status", unique_name)
    assert result.returncode == 1
    assert f"database stint_{unique_name} has no outbox" in result.stderr


def test_an_unreachable_database_is_reported_without_a_traceback(infra: Endpoints) -> None:
    closed = Endpoints(
        infra.kafka_bootstrap_servers,
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        infra.smtp_host,
        infra.smtp_port,
    )
    result = stint(closed, "timers", "failed", "listings")
    assert result.returncode == 1
    assert "cannot reach MongoDB" in result.stderr
    assert "Traceback" not in result.stderr
