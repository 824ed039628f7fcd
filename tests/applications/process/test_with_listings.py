"""Listings and applications as separate processes (`python -m stint_listings`, `python -m
stint_applications`), each with its own database, talking only through the broker: a listing
published through the listings API can be applied to, filling its seat marks it FILLED in
listings, and cancelling the engagement reopens it."""

from __future__ import annotations

import grpc
import pytest
from stint.applications.v1 import service_pb2_grpc
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.listings.v1 import service_pb2_grpc as listings_grpc
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel

from tests.applications.api.kit import (
    ApplicationsClient,
    AppStatus,
    EngStatus,
    apply_once_known,
    new_student,
)
from tests.applications.process.conftest import Launcher
from tests.listings.api.kit import ListingsClient

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ListingStatus = listings_resources.ListingStatus
# Consumer group joins on the embedded broker take seconds; a round trip through two
# services' outboxes and consumers can take several.
EVENT_WAIT = 60.0


async def test_a_listing_published_in_listings_fills_and_reopens_through_applications(
    launch: Launcher,
) -> None:
    listings = launch("listings")
    applications = launch("applications")
    listings.start()
    applications.start()
    async with (
        insecure_channel(listings.settings.grpc_address) as listings_channel,
        insecure_channel(applications.settings.grpc_address) as applications_channel,
    ):
        await listings.wait_serving(listings_channel)
        await applications.wait_serving(applications_channel)
        catalogue = ListingsClient(
            listings_grpc.ListingsServiceStub(listings_channel), listings.settings, SystemClock()
        )
        client = ApplicationsClient(
            service_pb2_grpc.ApplicationsServiceStub(applications_channel), applications.settings
        )

        listing = await catalogue.published(seats=1)
        assert listing.status == ListingStatus.LISTING_STATUS_PUBLISHED
        hired, waiting = new_student(), new_student()
        applied = await apply_once_known(client, listing.id, hired, limit=EVENT_WAIT)
        assert applied.employer_org_id == listing.employer_org_id
        hopeful = await client.apply(listing.id, waiting)

        offered = await client.offer(await client.shortlist(applied))
        engagement = (await client.accept(offered, hired)).engagement
        assert engagement.status == EngStatus.ENGAGEMENT_STATUS_ACTIVE
        assert engagement.listing_title == listing.title
        assert engagement.fee == listing.fee

        filled = await catalogue.wait_for_status(
            listing.id, ListingStatus.LISTING_STATUS_FILLED, limit=EVENT_WAIT
        )
        assert filled.seats_filled == 1
        # ListingFilled comes back to applications: undecided applications are rejected.
        rejected = await client.wait_application(
            hopeful.id, AppStatus.APPLICATION_STATUS_REJECTED, limit=EVENT_WAIT
        )
        assert rejected.reason

        cancelled = await client.cancel(engagement)
        assert cancelled.status == EngStatus.ENGAGEMENT_STATUS_CANCELLED
        reopened = await catalogue.wait_for_status(
            listing.id, ListingStatus.LISTING_STATUS_PUBLISHED, limit=EVENT_WAIT
        )
        assert reopened.seats_filled == 0
        # The reopened listing is open to new applicants in applications too.
        reopened_to = await apply_once_known(
            client,
            listing.id,
            new_student(),
            limit=EVENT_WAIT,
            until_not=grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert reopened_to.status == AppStatus.APPLICATION_STATUS_SUBMITTED
    assert applications.stop() == 0
    assert listings.stop() == 0
