"""Reconciliation: on demand (admin RPC) and by its durable timer, with a persisted report; and
payout destinations never leave the service except towards the provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.database import Database
from stint.payouts.v1 import resources_pb2, service_pb2
from stint.topics import PAYOUTS
from stint_payouts.adapters.provider import StripeProvider
from stint_payouts.adapters.repository import RECONCILIATION, REPORTS, SCHEDULES
from stint_payouts.entrypoints.app import PayoutsService
from stint_payouts.service_layer.ports import TransferRequest
from stint_runtime.values import Money

from tests.payouts.api.kit import (
    ADMIN,
    EventFeed,
    PayoutsClient,
    PayoutStatus,
    Simulator,
    engagement,
    eventually,
    new_student,
)
from tests.support.messaging_kit import read_topic
from tests.support.served_metrics import series_total

pytestmark = pytest.mark.integration
Drift = resources_pb2.DriftKind


async def test_a_transfer_no_payout_knows_is_reported_and_the_report_kept(
    client: PayoutsClient, simulator: Simulator, db: Database[Any]
) -> None:
    provider = StripeProvider("sk_test_reconcile", simulator.url, 5)
    ghost = provider.create_transfer(
        TransferRequest(Money(777, "USD"), "acct_ghost0001", "ghost-key", "pay-ghost")
    )
    reply = await client.call("Reconcile", service_pb2.ReconcileRequest(), ADMIN)
    report = reply.report
    assert report.ledger_balanced
    ghosts = [d for d in report.drifts if d.provider_transfer_id == ghost.id]
    assert [d.kind for d in ghosts] == [Drift.DRIFT_KIND_MISSING_IN_LEDGER]
    assert ghosts[0].provider_amount.amount_minor == 777
    assert series_total("stint_payouts_reconciliation_drifts") >= 1  # the on-call alert fires
    stored = db[REPORTS].find_one({"_id": report.id})
    assert stored is not None
    assert stored["ledger_balanced"] is True


async def test_the_reconciliation_timer_runs_a_reconciliation(
    service: PayoutsService, db: Database[Any]
) -> None:
    before = db[REPORTS].count_documents({})
    due = datetime.now(UTC) - timedelta(seconds=1)
    db[SCHEDULES].update_one(
        {"_id": RECONCILIATION}, {"$set": {"timers": [{"name": "reconcile", "due_at": due}]}}
    )

    async def ran() -> bool:
        return bool(db[REPORTS].count_documents({}) > before)

    await eventually(ran, what="a report from the timer")
    schedule = db[SCHEDULES].find_one({"_id": RECONCILIATION})
    assert schedule is not None
    (timer,) = schedule["timers"]
    assert timer["due_at"].replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(hours=23)


async def test_destinations_are_never_returned_or_published(
    client: PayoutsClient, feed: EventFeed, service: PayoutsService
) -> None:
    student = new_student()
    secret = "acct_SECRETDEST4321"
    account = await client.register(student, destination=secret)
    assert account.destination_last4 == "4321"
    e = engagement(student)
    await feed.approved(e)
    paid = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    listed = await client.call(
        "ListPayouts", service_pb2.ListPayoutsRequest(student_id=student.subject), student
    )
    assert b"SECRETDEST" not in listed.SerializeToString()
    assert b"SECRETDEST" not in paid.SerializeToString()

    def mine(records: list[Any]) -> list[Any]:
        return [r for r in records if r.key in (paid.id.encode(), e.id.encode())]

    records = await read_topic(
        service.settings.kafka_bootstrap_servers, PAYOUTS, until=lambda r: len(mine(r)) >= 3
    )
    assert all(b"SECRETDEST" not in r.value for r in mine(records))
