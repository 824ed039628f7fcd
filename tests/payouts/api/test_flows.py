"""Money flows end to end: applications events in through the broker, transfers out through the
stripe SDK to the simulator process, state and ledger read back over gRPC."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.database import Database
from stint.payouts.v1 import resources_pb2, service_pb2

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
from tests.support.served_metrics import series_total

pytestmark = pytest.mark.integration
Account = resources_pb2.LedgerAccount


def balances(entries: list[resources_pb2.LedgerEntry]) -> dict[tuple[int, str], int]:
    totals: dict[tuple[int, str], int] = {}
    for entry in entries:
        key = (entry.account, entry.account_owner_id)
        totals[key] = totals.get(key, 0) + entry.amount_minor
    return totals


def transactions_balance(entries: list[resources_pb2.LedgerEntry]) -> None:
    sums: dict[str, int] = {}
    for entry in entries:
        sums[entry.transaction_id] = sums.get(entry.transaction_id, 0) + entry.amount_minor
    assert sums
    assert all(total == 0 for total in sums.values()), sums


async def test_held_without_account_then_released_and_paid_once(
    client: PayoutsClient, feed: EventFeed, simulator: Simulator
) -> None:
    student = new_student()
    e = engagement(student)
    await feed.started(e)
    await feed.approved(e)
    held = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_HELD)
    assert held.amount.amount_minor == 25_000
    account = await client.register(student, destination="acct_secret_9876")
    assert account.destination_last4 == "9876"
    assert "secret" not in str(account)
    paid = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    assert paid.provider_transfer_id.startswith("tr_")
    entries = await client.ledger(e.id)
    transactions_balance(entries)
    totals = balances(entries)
    assert totals[(Account.LEDGER_ACCOUNT_ESCROW, e.id)] == 0
    assert totals[(Account.LEDGER_ACCOUNT_STUDENT_PAYABLE, student.subject)] == 0
    assert totals[(Account.LEDGER_ACCOUNT_PLATFORM_REVENUE, "platform")] == -2_500
    balance = await client.call(
        "GetBalance", service_pb2.GetBalanceRequest(student_id=student.subject), student
    )
    (usd,) = balance.balances
    assert (usd.pending.amount_minor, usd.available.amount_minor, usd.paid.amount_minor) == (
        0,
        0,
        25_000,
    )


async def test_wrong_currency_holds_until_the_account_matches(
    client: PayoutsClient, feed: EventFeed
) -> None:
    student = new_student()
    await client.register(student, currency="EUR")
    e = engagement(student)
    await feed.approved(e)  # overtakes its start: funded and settled in order
    await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_HELD)
    await client.register(student, currency="USD")
    await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    await feed.started(e)  # the late start changes nothing
    transactions_balance(await client.ledger(e.id))


async def test_retries_then_failed_then_admin_retry_pays(
    client: PayoutsClient, feed: EventFeed, simulator: Simulator
) -> None:
    student = new_student()
    await client.register(student)
    simulator.faults(failure_rate=1)
    e = engagement(student)
    failed_before = series_total("stint_payouts_failed_total")
    await feed.started(e)
    await feed.approved(e)
    failed = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_FAILED)
    assert failed.attempts == 3
    assert "500" in failed.failure_reason
    assert series_total("stint_payouts_failed_total") == failed_before + 1  # the on-call alert
    simulator.faults(failure_rate=0)
    retried = await client.call(
        "RetryPayout",
        service_pb2.RetryPayoutRequest(payout_id=failed.id, expected_version=failed.version),
        ADMIN,
    )
    assert retried.payout.status in (
        PayoutStatus.PAYOUT_STATUS_PROCESSING,
        PayoutStatus.PAYOUT_STATUS_PAID,
    )
    paid = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    assert paid.attempts == 4


async def test_lost_responses_still_make_exactly_one_transfer(
    client: PayoutsClient, feed: EventFeed, simulator: Simulator
) -> None:
    student = new_student()
    await client.register(student)
    simulator.faults(lost_response_rate=1)
    e = engagement(student)
    await feed.approved(e)
    paid = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    report = await client.call("Reconcile", service_pb2.ReconcileRequest(), ADMIN)
    assert report.report.ledger_balanced
    assert [d for d in report.report.drifts if d.payout_id == paid.id] == []
    assert paid.attempts >= 2  # the first response was lost; the transfer was found again


@pytest.mark.parametrize(
    ("percent", "student_share", "platform_share", "refund"),
    [(0, 0, 0, 27_500), (37, 9_250, 925, 17_325), (100, 25_000, 2_500, 0)],
)
async def test_dispute_resolution_splits_in_exact_minor_units(
    client: PayoutsClient,
    feed: EventFeed,
    db: Database[Any],
    percent: int,
    student_share: int,
    platform_share: int,
    refund: int,
) -> None:
    student = new_student()
    await client.register(student)
    e = engagement(student)
    await feed.started(e)
    await feed.resolved(e, percent)

    async def settled() -> list[resources_pb2.LedgerEntry] | None:
        entries = await client.ledger(e.id)
        return entries if any(x.transaction_id.endswith(":release") for x in entries) else None

    entries = await eventually(settled, what="escrow released")
    transactions_balance(entries)
    release = [x for x in entries if x.transaction_id.endswith(":release")]
    by_account = {x.account: x.amount_minor for x in release}
    assert by_account.get(Account.LEDGER_ACCOUNT_STUDENT_PAYABLE, 0) == -student_share
    assert by_account.get(Account.LEDGER_ACCOUNT_PLATFORM_REVENUE, 0) == -platform_share
    assert by_account.get(Account.LEDGER_ACCOUNT_EMPLOYER_RECEIVABLE, 0) == -refund
    if student_share:
        paid = await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
        assert paid.amount.amount_minor == student_share
    else:
        assert db["payouts"].count_documents({"engagement_id": e.id}) == 0


async def test_cancelled_engagement_refunds_everything(
    client: PayoutsClient, feed: EventFeed, db: Database[Any]
) -> None:
    student = new_student()
    e = engagement(student, fee_minor=10_001)
    await feed.started(e)
    await feed.cancelled(e)
    await feed.approved(e)  # too late: the first outcome wins

    async def refunded() -> list[resources_pb2.LedgerEntry] | None:
        entries = await client.ledger(e.id)
        return entries if any(x.transaction_id.endswith(":refund") for x in entries) else None

    entries = await eventually(refunded, what="escrow refunded")
    transactions_balance(entries)
    totals = balances(entries)
    assert totals[(Account.LEDGER_ACCOUNT_EMPLOYER_RECEIVABLE, e.employer_org_id)] == 0
    assert totals[(Account.LEDGER_ACCOUNT_ESCROW, e.id)] == 0
    assert db["payouts"].count_documents({"engagement_id": e.id}) == 0


async def test_accounts_registered_while_approvals_arrive_release_every_payout(
    client: PayoutsClient, feed: EventFeed
) -> None:
    students = [new_student() for _ in range(8)]
    made = [engagement(s) for s in students]

    await asyncio.gather(*(feed.approved(e) for e in made), *(client.register(s) for s in students))
    for e in made:
        await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
