"""Every RPC x {owner employer, other employer, student, admin, no token}.

Each cell targets a listing of org A in a state where the RPC succeeds for a caller allowed to
make it, so the status says who may act. A listing a caller may not see is NOT_FOUND for them
(existence never leaks); one they may see but not change is PERMISSION_DENIED.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from stint.listings.v1 import resources_pb2, service_pb2

from tests.listings.api.kit import ORG_A, Caller, ListingsClient, Status, content

pytestmark = pytest.mark.integration
Listing = resources_pb2.Listing
Code = grpc.StatusCode
OK, DENIED, NOT_FOUND, UNAUTHENTICATED = (
    Code.OK,
    Code.PERMISSION_DENIED,
    Code.NOT_FOUND,
    Code.UNAUTHENTICATED,
)
OWNER, OTHER, STUDENT, ADMIN, NOBODY = (
    Caller.OWNER,
    Caller.OTHER_EMPLOYER,
    Caller.STUDENT,
    Caller.ADMIN,
    Caller.NOBODY,
)


@dataclass(frozen=True)
class Case:
    method: str
    state: str
    expected: dict[Caller, Code]


MATRIX = [
    Case(
        "CreateListing",
        "NONE",
        {OWNER: OK, OTHER: DENIED, STUDENT: DENIED, ADMIN: DENIED, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "UpdateListing",
        "DRAFT",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: DENIED, ADMIN: DENIED, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "SubmitForReview",
        "DRAFT",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: DENIED, ADMIN: DENIED, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "ApproveListing",
        "PENDING_REVIEW",
        {OWNER: DENIED, OTHER: DENIED, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "RejectListing",
        "PENDING_REVIEW",
        {OWNER: DENIED, OTHER: DENIED, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "PublishListing",
        "APPROVED",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "CloseListing",
        "PUBLISHED",
        {OWNER: OK, OTHER: DENIED, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "CancelListing",
        "PUBLISHED",
        {OWNER: OK, OTHER: DENIED, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "CancelListing",
        "DRAFT",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: DENIED, ADMIN: OK, NOBODY: UNAUTHENTICATED},
    ),
    Case(
        "GetListing",
        "DRAFT",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: NOT_FOUND, ADMIN: OK, NOBODY: NOT_FOUND},
    ),
    Case(
        "GetListing",
        "PENDING_REVIEW",
        {OWNER: OK, OTHER: NOT_FOUND, STUDENT: NOT_FOUND, ADMIN: OK, NOBODY: NOT_FOUND},
    ),
    Case(
        "GetListing",
        "PUBLISHED",
        {OWNER: OK, OTHER: OK, STUDENT: OK, ADMIN: OK, NOBODY: OK},
    ),
    Case(
        "SearchListings",
        "DRAFT",
        {OWNER: OK, OTHER: OK, STUDENT: OK, ADMIN: OK, NOBODY: OK},
    ),
]
CELLS = [(case, caller) for case in MATRIX for caller in Caller]


def request_for(client: ListingsClient, method: str, listing: Listing | None) -> Message:
    if listing is None:
        return service_pb2.CreateListingRequest(
            employer_org_id=ORG_A, content=content(client.clock.now())
        )
    target: dict[str, Any] = {"listing_id": listing.id, "expected_version": listing.version}
    requests: dict[str, Callable[[], Message]] = {
        "UpdateListing": lambda: service_pb2.UpdateListingRequest(
            **target, content=content(client.clock.now(), title="Edited")
        ),
        "SubmitForReview": lambda: service_pb2.SubmitForReviewRequest(**target),
        "ApproveListing": lambda: service_pb2.ApproveListingRequest(**target),
        "RejectListing": lambda: service_pb2.RejectListingRequest(**target, reason="vague"),
        "PublishListing": lambda: service_pb2.PublishListingRequest(**target),
        "CloseListing": lambda: service_pb2.CloseListingRequest(**target),
        "CancelListing": lambda: service_pb2.CancelListingRequest(**target, reason="gone"),
        "GetListing": lambda: service_pb2.GetListingRequest(listing_id=listing.id),
        "SearchListings": lambda: service_pb2.SearchListingsRequest(
            employer_org_id=ORG_A, page_size=100
        ),
    }
    return requests[method]()


async def listing_in(client: ListingsClient, state: str) -> Listing | None:
    makers: dict[str, Callable[[], Awaitable[Listing | None]]] = {
        "NONE": _none,
        "DRAFT": client.create,
        "PENDING_REVIEW": client.pending,
        "APPROVED": lambda: client.pending(approved=True),
        "PUBLISHED": client.published,
    }
    return await makers[state]()


async def _none() -> None:
    return None


def test_the_matrix_covers_every_rpc_and_every_caller() -> None:
    """A new RPC fails here until the matrix says who may call it."""
    methods = service_pb2.DESCRIPTOR.services_by_name["ListingsService"].methods
    assert {case.method for case in MATRIX} == {m.name for m in methods}
    for case in MATRIX:
        assert set(case.expected) == set(Caller), (case.method, case.state)


@pytest.mark.parametrize(
    ("case", "caller"),
    CELLS,
    ids=[f"{case.method}-{case.state}-{caller.name}" for case, caller in CELLS],
)
async def test_authorization_matrix(client: ListingsClient, case: Case, caller: Caller) -> None:
    listing = await listing_in(client, case.state)
    request = request_for(client, case.method, listing)
    try:
        response = await client.call(case.method, request, caller)
        code = Code.OK
    except grpc.aio.AioRpcError as error:
        code = error.code()
        response = None
    assert code == case.expected[caller]
    if listing is not None:
        stored = await client.get(listing.id)
        unchanged = stored.version == listing.version
        assert unchanged == (code != OK or case.method in ("GetListing", "SearchListings"))
    if case.method == "SearchListings":
        # The org's draft shows only to those who may see it; others get no hint of it.
        assert response is not None
        found = listing is not None and listing.id in {x.id for x in response.listings}
        assert found == (caller in (OWNER, ADMIN))


async def test_a_draft_of_org_a_is_invisible_to_org_b_even_when_asked_for_by_status(
    client: ListingsClient,
) -> None:
    draft = await client.create()
    for statuses in ([], [Status.LISTING_STATUS_DRAFT]):
        for caller in (OTHER, STUDENT, NOBODY):
            page = await client.search(caller, employer_org_id=ORG_A, statuses=statuses)
            assert draft.id not in {x.id for x in page.listings}, (caller, statuses)
