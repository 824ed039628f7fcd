"""Crash storm: 200 engagements are started and approved while `python -m stint_payouts` is
SIGKILLed 20 times at random moments and the simulator loses 10 % of its responses (the
transfer is made, the response dropped). Afterwards: exactly 200 transfers at the provider, one
per payout, every payout PAID once (one PayoutPaid event id each), every ledger transaction and
the whole ledger sum to zero, and Reconcile reports no drift.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from stint.payouts.v1 import service_pb2, service_pb2_grpc
from stint.topics import APPLICATIONS, PAYOUTS
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.envelope import decode_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.topics import dead_letter_topic
from stint_runtime.persistence.mongo import connect
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.payment_provider import simulator_url, start_simulator
from stint_runtime.stack.processes import free_port

from tests.payouts.api.kit import (
    ADMIN,
    EventFeed,
    PayoutsClient,
    engagement,
    new_student,
)
from tests.support.isolation import with_own_group
from tests.support.messaging_kit import read_topic
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ENGAGEMENTS = 200
KILLS = 20
STUDENTS = 20


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = start_simulator(
        tmp_path / "provider",
        port,
        tmp_path / "provider.log",
        faults={"lost_response_rate": 0.1, "latency_ms": 20},
    )
    try:
        yield simulator_url(port)
    finally:
        process.stop()


@pytest.fixture
async def publisher(infra: Endpoints) -> AsyncIterator[KafkaPublisher]:
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="crash-feed") as publisher:
        yield publisher


def provider_transfers(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = ""
    while True:
        query = f"limit=100&starting_after={after}" if after else "limit=100"
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{url}/v1/transfers?{query}", headers={"Authorization": "Bearer sk_test_storm"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            page = json.load(reply)
        found.extend(page["data"])
        if not page["has_more"]:
            return found
        after = page["data"][-1]["id"]


async def test_crash_storm_pays_every_engagement_exactly_once(
    infra: Endpoints, tmp_path: Path, simulator: str, publisher: KafkaPublisher
) -> None:
    settings = settings_for_test("payouts", infra, "storm")
    settings = await with_own_group(settings)  # only this test's events, not the backlog
    service = ServiceProcess(settings, tmp_path)
    env = {
        "STINT_PAYOUTS_PROVIDER_API_BASE": simulator,
        "STINT_PAYOUTS_PROVIDER_TIMEOUT_SECONDS": "3",
        "STINT_PAYOUTS_RETRY_INITIAL_SECONDS": "0.2",
        "STINT_PAYOUTS_RETRY_MAX_SECONDS": "1",
        "STINT_PAYOUTS_PROCESSOR_POLL_SECONDS": "0.2",
        "STINT_LOG_LEVEL": "WARNING",
        # A SIGKILLed process leaves its open transaction to expire on the server (about a
        # minute), so writes to the same documents conflict meanwhile: events keep being
        # retried instead of going to the dead-letter topic (asserted empty below).
        "STINT_KAFKA_MAX_ATTEMPTS": "1000",
        "STINT_KAFKA_RETRY_BACKOFF_MAX_SECONDS": "2",
    }
    mongo = connect(settings)
    db: Database[Any] = mongo[settings.database_name]
    chaos = random.Random(20_26)
    feed = EventFeed(publisher)
    students = [new_student() for _ in range(STUDENTS)]
    engagements = [
        engagement(students[n % STUDENTS], fee_minor=1_000 + n) for n in range(ENGAGEMENTS)
    ]
    ours = {f"pay-{e.id}" for e in engagements}
    try:
        service.start(extra_env=env)
        async with insecure_channel(settings.grpc_address) as channel:
            await service.wait_serving(channel)
            client = PayoutsClient(service_pb2_grpc.PayoutsServiceStub(channel), settings)
            for student in students:
                await client.register(student)
        wave = ENGAGEMENTS // KILLS
        for kill in range(KILLS):
            for e in engagements[kill * wave : (kill + 1) * wave]:
                await feed.started(e)
                await feed.approved(e)
            await asyncio.sleep(chaos.uniform(0.0, 2.5))
            assert service.process is not None
            service.process.kill()
            service.start(extra_env=env)
            if kill % 5 == 4:
                async with insecure_channel(settings.grpc_address) as channel:
                    await service.wait_serving(channel)

        def statuses() -> dict[str, int]:
            counts: dict[str, int] = {}
            for payout in db["payouts"].find({"_id": {"$in": sorted(ours)}}, {"status": 1}):
                counts[payout["status"]] = counts.get(payout["status"], 0) + 1
            return counts

        deadline = time.monotonic() + 150
        counts = await asyncio.to_thread(statuses)
        while counts.get("PAID", 0) < ENGAGEMENTS:
            assert time.monotonic() < deadline, f"not all PAID: {counts}"
            await asyncio.sleep(0.5)
            counts = await asyncio.to_thread(statuses)

        transfers = provider_transfers(simulator)
        assert len(transfers) == ENGAGEMENTS
        assert {t["transfer_group"] for t in transfers} == ours
        by_group = {t["transfer_group"]: t for t in transfers}
        for payout in db["payouts"].find({"_id": {"$in": sorted(ours)}}):
            transfer = by_group[payout["_id"]]
            assert payout["provider_transfer_id"] == transfer["id"]
            assert payout["amount"]["amount_minor"] == transfer["amount"]

        sums: dict[str, int] = {}
        for entry in db["ledger_entries"].find({}):
            sums[entry["transaction_id"]] = (
                sums.get(entry["transaction_id"], 0) + entry["amount_minor"]
            )
        assert all(total == 0 for total in sums.values())
        assert sum(sums.values()) == 0
        assert sum(1 for key in sums if key.endswith(":paid")) >= ENGAGEMENTS

        async with insecure_channel(settings.grpc_address) as channel:
            await service.wait_serving(channel)
            client = PayoutsClient(service_pb2_grpc.PayoutsServiceStub(channel), settings)
            report = (await client.call("Reconcile", service_pb2.ReconcileRequest(), ADMIN)).report
        assert report.ledger_balanced
        assert list(report.drifts) == []

        def paid_events(records: list[Any]) -> dict[str, set[str]]:
            seen: dict[str, set[str]] = {}
            for record in records:
                envelope = decode_envelope(record.value)
                if envelope.type.endswith("PayoutPaid") and envelope.subject in ours:
                    seen.setdefault(envelope.subject, set()).add(envelope.id)
            return seen

        records = await read_topic(
            settings.kafka_bootstrap_servers,
            PAYOUTS,
            until=lambda r: len(paid_events(r)) == ENGAGEMENTS,
            limit=120,
        )
        assert all(len(ids) == 1 for ids in paid_events(records).values())
        dead = await read_topic(
            settings.kafka_bootstrap_servers,
            dead_letter_topic("payouts", APPLICATIONS),
            until=lambda r: True,
        )
        engagement_ids = {e.id.encode() for e in engagements}
        assert [r for r in dead if r.key in engagement_ids] == []
    finally:
        service.stop()
        mongo.close()
