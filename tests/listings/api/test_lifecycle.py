"""The listing lifecycle through the gRPC API; every transition a state refuses is
FAILED_PRECONDITION and leaves the listing untouched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.clock import ManualClock
from stint_runtime.grpc.client import new_idempotency_key

from tests.listings.api.kit import ApplicationsStandIn, Caller, ListingsClient, Status, content

pytestmark = pytest.mark.integration
Listing = resources_pb2.Listing


async def test_draft_to_closed_through_rejection_and_approval(client: ListingsClient) -> None:
    listing = await client.create()
    assert (listing.status, listing.version) == (Status.LISTING_STATUS_DRAFT, 1)
    assert (listing.employer_org_id, listing.created_by) == ("org-a", "emp-a")

    updated = await client.call(
        "UpdateListing",
        service_pb2.UpdateListingRequest(
            listing_id=listing.id,
            expected_version=1,
            content=content(client.clock.now(), title="Build a Vue dashboard"),
        ),
    )
    listing = updated.listing
    assert (listing.title, listing.status, listing.version) == (
        "Build a Vue dashboard",
        Status.LISTING_STATUS_DRAFT,
        2,
    )

    listing = await client.submit(listing)
    assert listing.status == Status.LISTING_STATUS_PENDING_REVIEW
    assert listing.HasField("submit_time")

    listing = await client.reject(listing, "describe the data source")
    assert listing.status == Status.LISTING_STATUS_REJECTED
    assert listing.moderation_reason == "describe the data source"

    listing = await client.submit(listing)
    assert (listing.status, listing.moderation_reason) == (Status.LISTING_STATUS_PENDING_REVIEW, "")

    listing = await client.approve(listing)
    assert listing.status == Status.LISTING_STATUS_PENDING_REVIEW, "approval alone never publishes"
    assert not listing.HasField("publish_time")

    listing = await client.publish(listing)
    assert listing.status == Status.LISTING_STATUS_PUBLISHED
    assert listing.publish_time.ToDatetime() == client.clock.now().replace(tzinfo=None)
    assert (await client.get(listing.id, Caller.STUDENT)).status == Status.LISTING_STATUS_PUBLISHED

    listing = await client.close(listing)
    assert listing.status == Status.LISTING_STATUS_CLOSED
    assert listing.HasField("end_time")
    assert listing.version == 8


async def test_an_admin_publishes_and_cancels(client: ListingsClient) -> None:
    listing = await client.publish(await client.pending(approved=True), Caller.ADMIN)
    assert listing.status == Status.LISTING_STATUS_PUBLISHED
    listing = await client.cancel(listing, Caller.ADMIN)
    assert (listing.status, listing.moderation_reason) == (
        Status.LISTING_STATUS_CANCELLED,
        "budget cut",
    )


async def full_scan(client: ListingsClient, clock: ManualClock) -> None:
    """Return once the timer scanner has finished a pass at the clock's time.

    A sentinel listing whose deadline passed a minute ago expires in a pass that read it after
    it was stored; a second sentinel, stored once the first expired, expires in a later pass, so
    the pass that would fire anything else due by now (in due order, after the first) is over.
    """
    now = clock.now()
    for _ in range(2):
        clock.set(now - timedelta(days=5, minutes=1))
        sentinel = await client.published()
        clock.set(now)
        await client.wait_for_status(sentinel.id, Status.LISTING_STATUS_EXPIRED)


async def test_the_expiry_timer_expires_a_published_listing_at_its_deadline(
    client: ListingsClient, clock: ManualClock
) -> None:
    listing = await client.published()
    clock.advance(timedelta(days=4, hours=23))
    await full_scan(client, clock)
    assert (await client.get(listing.id)).status == Status.LISTING_STATUS_PUBLISHED
    clock.advance(timedelta(hours=1))
    expired = await client.wait_for_status(listing.id, Status.LISTING_STATUS_EXPIRED)
    assert expired.end_time.ToDatetime() >= listing.application_deadline.ToDatetime()


async def test_a_stale_expected_version_is_aborted(client: ListingsClient) -> None:
    listing = await client.submit(await client.create())
    stale = service_pb2.CancelListingRequest(
        listing_id=listing.id, expected_version=1, reason="changed my mind"
    )
    assert await client.code_of("CancelListing", stale, Caller.OWNER) == grpc.StatusCode.ABORTED


async def test_a_replayed_create_returns_the_first_listing(client: ListingsClient) -> None:
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-a", content=content(client.clock.now())
    )
    key = new_idempotency_key()
    first = await client.call("CreateListing", request, idempotency_key=key)
    again = await client.call("CreateListing", request, idempotency_key=key)
    assert again.listing.id == first.listing.id


# The transitions each state allows; every other one is refused.
ALLOWED: dict[str, set[str]] = {
    "DRAFT": {"UpdateListing", "SubmitForReview", "CancelListing"},
    # An edit under review returns the listing to DRAFT; a published one takes a limited edit.
    "PENDING_REVIEW": {"UpdateListing", "ApproveListing", "RejectListing", "CancelListing"},
    "APPROVED": {"UpdateListing", "RejectListing", "PublishListing", "CancelListing"},
    "PUBLISHED": {"UpdateListing", "CloseListing", "CancelListing"},
    "FILLED": {"CloseListing", "CancelListing"},
    "REJECTED": {"UpdateListing", "SubmitForReview", "CancelListing"},
    "CLOSED": set(),
    "EXPIRED": set(),
    "CANCELLED": set(),
}


def commands(client: ListingsClient, listing: Listing) -> dict[str, tuple[Message, Caller]]:
    """Every transition, as its owner (or for moderation, an admin) would ask for it."""
    target: dict[str, Any] = {"listing_id": listing.id, "expected_version": listing.version}
    return {
        "UpdateListing": (
            service_pb2.UpdateListingRequest(**target, content=content(client.clock.now())),
            Caller.OWNER,
        ),
        "SubmitForReview": (service_pb2.SubmitForReviewRequest(**target), Caller.OWNER),
        "ApproveListing": (service_pb2.ApproveListingRequest(**target), Caller.ADMIN),
        "RejectListing": (service_pb2.RejectListingRequest(**target, reason="no"), Caller.ADMIN),
        "PublishListing": (service_pb2.PublishListingRequest(**target), Caller.OWNER),
        "CloseListing": (service_pb2.CloseListingRequest(**target), Caller.OWNER),
        "CancelListing": (service_pb2.CancelListingRequest(**target, reason="no"), Caller.OWNER),
    }


def states(
    client: ListingsClient, applications: ApplicationsStandIn, clock: ManualClock
) -> dict[str, Callable[[], Awaitable[Listing]]]:
    async def filled() -> Listing:
        listing = await client.published(seats=1)
        await applications.started(listing.id, f"eng-{listing.id}")
        return await client.wait_for_status(listing.id, Status.LISTING_STATUS_FILLED)

    async def expired() -> Listing:
        listing = await client.published()
        clock.advance(timedelta(days=6))
        return await client.wait_for_status(listing.id, Status.LISTING_STATUS_EXPIRED)

    async def closed() -> Listing:
        return await client.close(await client.published())

    async def cancelled() -> Listing:
        return await client.cancel(await client.create())

    async def rejected() -> Listing:
        return await client.reject(await client.pending())

    return {
        "DRAFT": client.create,
        "PENDING_REVIEW": client.pending,
        "APPROVED": lambda: client.pending(approved=True),
        "PUBLISHED": client.published,
        "FILLED": filled,
        "REJECTED": rejected,
        "CLOSED": closed,
        "EXPIRED": expired,
        "CANCELLED": cancelled,
    }


@pytest.mark.parametrize("state", list(ALLOWED))
async def test_every_refused_transition_is_a_failed_precondition(
    client: ListingsClient, applications: ApplicationsStandIn, clock: ManualClock, state: str
) -> None:
    listing = await states(client, applications, clock)[state]()
    refused = {
        method: await client.code_of(method, request, caller)
        for method, (request, caller) in commands(client, listing).items()
        if method not in ALLOWED[state]
    }
    assert refused == dict.fromkeys(refused, grpc.StatusCode.FAILED_PRECONDITION)
    assert (await client.get(listing.id)).version == listing.version
