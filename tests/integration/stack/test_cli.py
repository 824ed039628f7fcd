"""The `stint` command against the real broker: tokens the services accept, decoded events."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from stint.listings.v1.events_pb2 import ListingPublished
from stint_runtime.clock import ManualClock
from stint_runtime.grpc.auth import TokenVerifier
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.settings import StintSettings
from stint_runtime.stack.embedded import Endpoints

pytestmark = pytest.mark.integration

STINT = str(Path(sys.executable).parent / "stint")


def stint(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STINT, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_minted_token_is_accepted_by_the_verifier_with_the_same_secret() -> None:
    result = stint("token", "--role", "employer", "--sub", "emp-1", "--org", "org-1")

    assert result.returncode == 0, result.stderr
    principal = TokenVerifier(StintSettings()).verify(result.stdout.strip())
    assert (principal.subject, principal.role, principal.org) == ("emp-1", "employer", "org-1")


async def test_events_tail_prints_each_record_as_json_with_its_event_decoded(
    infra: Endpoints, unique_name: str
) -> None:
    event = ListingPublished(listing_id="lst-1")
    envelope = new_envelope(event, source="listings", subject="lst-1", clock=ManualClock())
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(unique_name, envelope.SerializeToString(), key=b"lst-1")
        await producer.send_and_wait(unique_name, b"\xffnot an envelope", key=b"\xfe")
    finally:
        await producer.stop()

    result = stint(
        "events",
        "tail",
        unique_name,
        "--from-beginning",
        "--max",
        "2",
        "--timeout",
        "20",
        "--bootstrap-servers",
        infra.kafka_bootstrap_servers,
    )

    assert result.returncode == 0, result.stderr
    lines: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2, result.stdout
    published, garbage = sorted(lines, key=lambda line: "undecodable" in line)
    assert published["key"] == "lst-1"
    assert published["envelope"]["id"] == envelope.id
    assert published["envelope"]["type"] == "stint.listings.v1.ListingPublished"
    assert published["envelope"]["data"] == {
        "@type": "type.googleapis.com/stint.listings.v1.ListingPublished",
        "listing_id": "lst-1",
    }
    assert {"partition", "offset"} <= published.keys()
    assert garbage["undecodable"]
    assert garbage["key"] == "base64:/g=="


def test_events_tail_gives_up_on_a_missing_topic_after_its_timeout(infra: Endpoints) -> None:
    topic = f"missing-{uuid.uuid4().hex[:8]}"

    result = stint(
        "events",
        "tail",
        topic,
        "--timeout",
        "1",
        "--bootstrap-servers",
        infra.kafka_bootstrap_servers,
    )

    assert result.returncode == 1
    assert f"topic {topic!r} does not exist" in result.stderr
