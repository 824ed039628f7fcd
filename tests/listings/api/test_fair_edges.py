"""Issue #8 through gRPC: who reads what (ended listings, created_by), the currency table, the
approver shown, edits under review and limited edits of a published listing with a FieldMask."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from stint.common.v1 import money_pb2
from stint.listings.v1 import service_pb2

from tests.listings.api.kit import Caller, ListingsClient, Status, content

pytestmark = pytest.mark.integration


async def test_anonymous_callers_never_see_who_created_a_listing(client: ListingsClient) -> None:
    listing = await client.published()
    assert (await client.get(listing.id, Caller.STUDENT)).created_by == "emp-a"
    assert (await client.get(listing.id, Caller.NOBODY)).created_by == ""
    found = await client.search(Caller.NOBODY, employer_org_id="org-a")
    assert found.listings
    assert all(listing.created_by == "" for listing in found.listings)


async def test_ended_listings_stay_readable_by_id_for_everyone(client: ListingsClient) -> None:
    closed = await client.close(await client.published())
    for caller in (Caller.STUDENT, Caller.NOBODY, Caller.OTHER_EMPLOYER):
        assert (await client.get(closed.id, caller)).status == Status.LISTING_STATUS_CLOSED
    cancelled = await client.cancel(await client.published())
    request = service_pb2.GetListingRequest(listing_id=cancelled.id)
    for caller in (Caller.STUDENT, Caller.NOBODY, Caller.OTHER_EMPLOYER):
        assert await client.code_of("GetListing", request, caller) == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("currency", ["KRW", "ZZZ"])
async def test_an_unsupported_currency_is_invalid_naming_fee_currency(
    client: ListingsClient, currency: str
) -> None:
    fee = money_pb2.Money(amount_minor=10_000_000, currency=currency)
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-a", content=content(client.clock.now(), fee=fee)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call("CreateListing", request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "fee.currency" in (refused.value.details() or "")


async def test_the_approver_is_shown_and_an_edit_under_review_returns_to_draft(
    client: ListingsClient,
) -> None:
    approved = await client.pending(approved=True)
    assert (approved.approved_by, approved.approve_time.seconds > 0) == ("adm-1", True)
    request = service_pb2.UpdateListingRequest(
        listing_id=approved.id,
        expected_version=approved.version,
        content=content(client.clock.now(), title="A clearer title"),
    )
    edited = (await client.call("UpdateListing", request)).listing
    assert (edited.status, edited.approved_by, edited.title) == (
        Status.LISTING_STATUS_DRAFT,
        "",
        "A clearer title",
    )


async def test_a_published_listing_takes_a_limited_edit_through_a_field_mask(
    client: ListingsClient,
) -> None:
    listing = await client.published()
    now = client.clock.now()
    later = now + timedelta(days=8)
    sent = content(now, application_deadline=later, seats=3, title="Ignored: not in the mask")
    request = service_pb2.UpdateListingRequest(
        listing_id=listing.id,
        expected_version=listing.version,
        content=sent,
        update_mask=FieldMask(paths=["application_deadline", "seats"]),
    )
    edited = (await client.call("UpdateListing", request)).listing
    assert (edited.status, edited.seats, edited.title) == (
        Status.LISTING_STATUS_PUBLISHED,
        3,
        listing.title,
    )
    assert edited.application_deadline.ToDatetime().date() == later.date()

    fee = money_pb2.Money(amount_minor=90_000, currency="USD")
    refused = service_pb2.UpdateListingRequest(
        listing_id=edited.id,
        expected_version=edited.version,
        content=content(now, fee=fee),
        update_mask=FieldMask(paths=["fee"]),
    )
    code = await client.code_of("UpdateListing", refused, Caller.OWNER)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
