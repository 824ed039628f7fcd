"""Reads: keyset pages of payouts and ledger entries, and bad input named by its field."""

from __future__ import annotations

import grpc
import pytest
from stint.payouts.v1 import service_pb2

from tests.payouts.api.kit import (
    ADMIN,
    EMPLOYER,
    EventFeed,
    PayoutsClient,
    PayoutStatus,
    engagement,
    new_student,
)

pytestmark = pytest.mark.integration


async def test_payouts_and_ledger_entries_page_without_overlap(
    client: PayoutsClient, feed: EventFeed
) -> None:
    student = new_student()
    await client.register(student)
    made = [engagement(student, fee_minor=1_000 + n) for n in range(3)]
    for e in made:
        await feed.approved(e)
    for e in made:
        await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)
    seen: list[str] = []
    token = ""
    while True:
        page = await client.call(
            "ListPayouts",
            service_pb2.ListPayoutsRequest(page_size=2, page_token=token),
            student,
        )
        seen += [p.id for p in page.payouts]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(f"pay-{e.id}" for e in made)
    entries: list[str] = []
    token = ""
    while True:
        page = await client.call(
            "GetLedger",
            service_pb2.GetLedgerRequest(
                account_owner_id=student.subject, page_size=2, page_token=token
            ),
            ADMIN,
        )
        entries += [x.id for x in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert len(entries) == len(set(entries)) == 6  # released to and paid from, per payout


@pytest.mark.parametrize(
    ("method", "request_", "field"),
    [
        ("GetLedger", service_pb2.GetLedgerRequest(page_token="not-a-token"), "page_token"),
        ("ListPayouts", service_pb2.ListPayoutsRequest(page_size=101), "page_size"),
        ("GetPayout", service_pb2.GetPayoutRequest(payout_id=""), "payout_id"),
    ],
)
async def test_bad_input_is_invalid_argument_naming_the_field(
    client: PayoutsClient, method: str, request_: object, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call(method, request_, EMPLOYER)  # type: ignore[arg-type]
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")
