"""Every broken posting rule is INVALID_ARGUMENT naming the field, whether the contract's
declarative rules (protovalidate) or the service's own (fee floor, dates) catch it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from stint.common.v1 import money_pb2
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.clock import ManualClock

from tests.listings.api.kit import Caller, ListingsClient, content
from tests.support.grpc_errors import violated_fields

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


def usd(amount_minor: int, currency: str = "USD") -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount_minor, currency=currency)


def question(i: int) -> resources_pb2.ScreeningQuestion:
    return resources_pb2.ScreeningQuestion(id=f"q{i}", text="Why you?")


def deliverable(**fields: Any) -> resources_pb2.Deliverable:
    return resources_pb2.Deliverable(**{"title": "Report", "acceptance_criteria": ["ok"], **fields})


# field named in the error: content changes that break exactly that rule at CreateListing.
DECLARATIVE: dict[str, dict[str, Any]] = {
    "content.title": {"title": ""},
    "content.description": {"description": "x" * 20_001},
    "content.skills": {"skills": []},
    "content.skills[0]": {"skills": ["x" * 51]},
    "content.industry": {"industry": ""},
    "content.estimated_hours": {"estimated_hours": 41},
    "content.seats": {"seats": 0},
    "content.fee.currency": {"fee": usd(20_000, "usd")},
    "content.fee.amount_minor": {"fee": usd(-1)},
    "content.location": {"location": "x" * 201},
    "content.deliverables": {"deliverables": []},
    "content.deliverables[0].acceptance_criteria": {
        "deliverables": [deliverable(acceptance_criteria=[])]
    },
    "content.deliverables[0].title": {"deliverables": [deliverable(title="")]},
    "content.screening_questions": {"screening_questions": [question(i) for i in range(11)]},
    "content.screening_questions[0].id": {
        "screening_questions": [resources_pb2.ScreeningQuestion(id="Bad Id", text="?")]
    },
}


@pytest.mark.parametrize("field", list(DECLARATIVE))
async def test_a_declarative_rule_names_its_field(client: ListingsClient, field: str) -> None:
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-a", content=content(client.clock.now(), **DECLARATIVE[field])
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call("CreateListing", request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {field}
    assert field in (refused.value.details() or "")


async def test_missing_required_messages_are_named(client: ListingsClient) -> None:
    bare = content(client.clock.now())
    for name in ("fee", "application_deadline", "due_date"):
        bare.ClearField(name)
    request = service_pb2.CreateListingRequest(employer_org_id="org-a", content=bare)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call("CreateListing", request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {
        "content.fee",
        "content.application_deadline",
        "content.due_date",
    }


async def expect_invalid(client: ListingsClient, method: str, request: Any, field: str) -> str:
    caller = Caller.ADMIN if method == "ApproveListing" else Caller.OWNER
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call(method, request, caller)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert violated_fields(refused.value) == {field}
    return refused.value.details() or ""


@pytest.mark.parametrize(
    ("hours", "fee", "refused"),
    [(10, 19_999, True), (10, 20_000, False), (40, 79_999, True), (5, 10_000, False)],
)
async def test_the_fee_is_at_least_the_hourly_floor_times_the_hours(
    client: ListingsClient, hours: int, fee: int, refused: bool
) -> None:
    changes = {"estimated_hours": hours, "fee": usd(fee)}
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-a", content=content(client.clock.now(), **changes)
    )
    if refused:
        details = await expect_invalid(client, "CreateListing", request, "content.fee")
        assert f"at least {hours * 2_000} USD" in details
    else:
        assert (await client.call("CreateListing", request)).listing.fee.amount_minor == fee


async def test_the_deadline_comes_before_the_due_date(client: ListingsClient) -> None:
    now = client.clock.now()
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-a",
        content=content(now, application_deadline=now + 20 * DAY, due_date=now + 10 * DAY),
    )
    await expect_invalid(client, "CreateListing", request, "content.application_deadline")


async def test_an_update_obeys_the_same_rules(client: ListingsClient) -> None:
    listing = await client.create()
    request = service_pb2.UpdateListingRequest(
        listing_id=listing.id,
        expected_version=listing.version,
        content=content(client.clock.now(), estimated_hours=10, fee=usd(100)),
    )
    await expect_invalid(client, "UpdateListing", request, "content.fee")


async def test_a_passed_deadline_cannot_go_to_review(
    client: ListingsClient, clock: ManualClock
) -> None:
    listing = await client.create()
    clock.advance(6 * DAY)
    request = service_pb2.SubmitForReviewRequest(listing_id=listing.id, expected_version=1)
    await expect_invalid(client, "SubmitForReview", request, "content.application_deadline")


@pytest.mark.parametrize(
    ("due_in_days", "publish_after_days", "valid"),
    [(8, 0, True), (8, 2, False), (60, 0, True), (61, 0, False), (30, 0, True)],
)
async def test_the_due_date_is_7_to_60_days_after_publishing(
    client: ListingsClient,
    clock: ManualClock,
    due_in_days: int,
    publish_after_days: int,
    valid: bool,
) -> None:
    now = clock.now()
    approved = await client.pending(
        approved=True, application_deadline=now + 3 * DAY, due_date=now + due_in_days * DAY
    )
    clock.advance(publish_after_days * DAY)
    request = service_pb2.PublishListingRequest(
        listing_id=approved.id, expected_version=approved.version
    )
    if valid:
        listing = (await client.call("PublishListing", request)).listing
        assert listing.status == resources_pb2.LISTING_STATUS_PUBLISHED
    else:
        details = await expect_invalid(client, "PublishListing", request, "content.due_date")
        assert "7-60 days after publishing" in details


async def test_search_arguments_are_checked(client: ListingsClient) -> None:
    cases: dict[str, dict[str, Any]] = {
        "page_size": {"page_size": 101},
        "page_token": {"page_token": "not-a-token"},
        "max_fee.currency": {"min_fee": usd(1), "max_fee": usd(2, "EUR")},
        "statuses[0]": {"statuses": [resources_pb2.LISTING_STATUS_UNSPECIFIED]},
    }
    for field, fields in cases.items():
        request = service_pb2.SearchListingsRequest(**{"page_size": 10, **fields})
        await expect_invalid(client, "SearchListings", request, field)
