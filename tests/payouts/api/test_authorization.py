"""Every RPC x {owning student, other student, owning employer, other employer, admin, no token}.

One scene: a student with an account and a PAID payout for an engagement of org A. A caller the
declared policy refuses gets PERMISSION_DENIED, a caller who is not a party gets NOT_FOUND or
PERMISSION_DENIED (never data), no token gets UNAUTHENTICATED. RetryPayout is admitted for the
admin only, which then meets the payout's state (PAID: FAILED_PRECONDITION).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.message import Message
from stint.payouts.v1 import resources_pb2, service_pb2
from stint_payouts.entrypoints.policy import PAYOUTS_SERVICE

from tests.payouts.api.kit import (
    ADMIN,
    EMPLOYER,
    NOBODY,
    ORG_A,
    OTHER_EMPLOYER,
    OTHER_STUDENT,
    EventFeed,
    PayoutsClient,
    PayoutStatus,
    Who,
    engagement,
    new_student,
)

pytestmark = pytest.mark.integration
Code = grpc.StatusCode
OK, DENIED, NOT_FOUND, UNAUTH, PRECONDITION = (
    Code.OK,
    Code.PERMISSION_DENIED,
    Code.NOT_FOUND,
    Code.UNAUTHENTICATED,
    Code.FAILED_PRECONDITION,
)


@dataclass(frozen=True)
class Scene:
    student: Who
    payout: resources_pb2.Payout


Request = Callable[[Scene], Message]

# RPC -> (request, {caller: expected code}); callers: S, OS, E, OE, A, N.
MATRIX: dict[str, tuple[Request, dict[str, Code]]] = {
    "RegisterPayoutAccount": (
        lambda s: service_pb2.RegisterPayoutAccountRequest(
            method=resources_pb2.PAYOUT_METHOD_BANK_ACCOUNT,
            destination_token="acct_000000001234",
            country="US",
            currency="USD",
            tax_form_status=resources_pb2.TAX_FORM_STATUS_VERIFIED,
        ),
        {"S": OK, "OS": OK, "E": DENIED, "OE": DENIED, "A": DENIED, "N": UNAUTH},
    ),
    "GetPayout": (
        lambda s: service_pb2.GetPayoutRequest(payout_id=s.payout.id),
        {"S": OK, "OS": NOT_FOUND, "E": OK, "OE": NOT_FOUND, "A": OK, "N": UNAUTH},
    ),
    "ListPayouts": (
        lambda s: service_pb2.ListPayoutsRequest(student_id=s.student.subject),
        {"S": OK, "OS": DENIED, "E": OK, "OE": OK, "A": OK, "N": UNAUTH},
    ),
    "GetBalance": (
        lambda s: service_pb2.GetBalanceRequest(student_id=s.student.subject),
        {"S": OK, "OS": DENIED, "E": DENIED, "OE": DENIED, "A": OK, "N": UNAUTH},
    ),
    "RetryPayout": (
        lambda s: service_pb2.RetryPayoutRequest(payout_id=s.payout.id, expected_version=1),
        {"S": DENIED, "OS": DENIED, "E": DENIED, "OE": DENIED, "A": PRECONDITION, "N": UNAUTH},
    ),
    "GetLedger": (
        lambda s: service_pb2.GetLedgerRequest(employer_org_id=ORG_A),
        {"S": DENIED, "OS": DENIED, "E": OK, "OE": DENIED, "A": OK, "N": UNAUTH},
    ),
    "Reconcile": (
        lambda s: service_pb2.ReconcileRequest(),
        {"S": DENIED, "OS": DENIED, "E": DENIED, "OE": DENIED, "A": OK, "N": UNAUTH},
    ),
}


def test_the_matrix_covers_every_rpc_and_caller() -> None:
    assert set(MATRIX) == {m.name for m in PAYOUTS_SERVICE.methods}
    for _, expected in MATRIX.values():
        assert set(expected) == {"S", "OS", "E", "OE", "A", "N"}


@pytest.fixture(scope="module")
async def scene(client: PayoutsClient, feed: EventFeed) -> Scene:
    student = new_student()
    await client.register(student)
    e = engagement(student)
    await feed.started(e)
    await feed.approved(e)
    return Scene(student, await client.payout_in(e.id, PayoutStatus.PAYOUT_STATUS_PAID))


@pytest.mark.parametrize("method", sorted(MATRIX))
async def test_who_may_call(client: PayoutsClient, scene: Scene, method: str) -> None:
    request, expected = MATRIX[method]
    callers = {
        "S": scene.student,
        "OS": OTHER_STUDENT,
        "E": EMPLOYER,
        "OE": OTHER_EMPLOYER,
        "A": ADMIN,
        "N": NOBODY,
    }
    seen = {
        name: await client.code_of(method, request(scene), who) for name, who in callers.items()
    }
    assert seen == expected


async def test_other_employers_see_no_payouts_or_entries_of_org_a(
    client: PayoutsClient, scene: Scene
) -> None:
    listed = await client.call("ListPayouts", service_pb2.ListPayoutsRequest(), OTHER_EMPLOYER)
    assert all(p.employer_org_id == OTHER_EMPLOYER.org for p in listed.payouts)
    ledger = await client.call(
        "GetLedger",
        service_pb2.GetLedgerRequest(engagement_id=scene.payout.engagement_id),
        OTHER_EMPLOYER,
    )
    assert list(ledger.entries) == []
    own = await client.call(
        "GetLedger",
        service_pb2.GetLedgerRequest(engagement_id=scene.payout.engagement_id),
        EMPLOYER,
    )
    assert {e.engagement_id for e in own.entries} == {scene.payout.engagement_id}
    assert len(own.entries) >= 6
    mine = await client.call("ListPayouts", service_pb2.ListPayoutsRequest(), EMPLOYER)
    assert scene.payout.id in {p.id for p in mine.payouts}
    assert {p.employer_org_id for p in mine.payouts} == {ORG_A}
