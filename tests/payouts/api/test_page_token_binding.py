"""A page token of ListPayouts or GetLedger only continues the query it came from."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from stint.payouts.v1 import service_pb2

from tests.payouts.api.kit import (
    ADMIN,
    EventFeed,
    PayoutsClient,
    PayoutStatus,
    engagement,
    new_student,
)
from tests.support.grpc_errors import violated_fields

pytestmark = pytest.mark.integration


async def _refused(client: PayoutsClient, method: str, request: Any, caller: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call(method, request, caller)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {"page_token"}


async def test_tokens_are_bound_to_their_filters_and_caller(
    client: PayoutsClient, feed: EventFeed
) -> None:
    student = new_student()
    await client.register(student)
    made = [engagement(student, fee_minor=1_000 + n) for n in range(2)]
    for e in made:
        await feed.approved(e)
    for e in made:
        await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID)

    first = await client.call("ListPayouts", service_pb2.ListPayoutsRequest(page_size=1), student)
    token = first.next_page_token
    assert token
    same = await client.call(
        "ListPayouts", service_pb2.ListPayoutsRequest(page_size=5, page_token=token), student
    )
    assert [p.id for p in same.payouts] != [p.id for p in first.payouts]
    other_filter = service_pb2.ListPayoutsRequest(
        page_token=token, statuses=[PayoutStatus.PAYOUT_STATUS_PAID]
    )
    await _refused(client, "ListPayouts", other_filter, student)
    # The admin's view of "every payout" is another query than the student's own payouts.
    await _refused(client, "ListPayouts", service_pb2.ListPayoutsRequest(page_token=token), ADMIN)

    ledger = service_pb2.GetLedgerRequest(account_owner_id=student.subject, page_size=1)
    page = await client.call("GetLedger", ledger, ADMIN)
    assert page.next_page_token
    elsewhere = service_pb2.GetLedgerRequest(
        account_owner_id="someone-else", page_token=page.next_page_token
    )
    await _refused(client, "GetLedger", elsewhere, ADMIN)
