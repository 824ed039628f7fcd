"""Issue #8 through gRPC against the running service: listing terms on applications, offers
that outlive the listing and lapse on their own clock, the revision window, re-applying,
feedback with a version and a window from acceptance, offers straight from SUBMITTED."""

from __future__ import annotations

from datetime import UTC, timedelta

import grpc
import pytest
from stint.applications.v1 import resources_pb2, service_pb2
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint_runtime.clock import ManualClock

from tests.applications.api.kit import (
    DAY,
    EMPLOYER,
    ApplicationsClient,
    AppStatus,
    EngStatus,
    EventFeed,
    new_student,
)
from tests.applications.builders import NOW

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)


async def test_an_application_shows_the_listing_terms_to_its_student(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    applied = await client.apply(listing.id, student)
    mine = await client.get_application(applied.id, student)
    assert (mine.listing.title, mine.listing.employer_org_id) == (listing.title, "org-a")
    assert (mine.listing.fee, mine.listing.estimated_hours) == (listing.fee, 10)
    assert mine.listing.due_date == listing.due_date


async def test_an_offer_outlives_the_listing_close_and_is_accepted(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    offered = await client.offer(await client.apply(listing.id, student))
    assert offered.status == AppStatus.APPLICATION_STATUS_OFFERED, "straight from SUBMITTED"
    assert offered.respond_by_time.ToDatetime(tzinfo=UTC) == NOW + 3 * DAY
    await feed.changed(
        listing, listings_resources.LISTING_STATUS_CLOSED, listings_events.ListingClosed
    )
    accepted = await client.accept(await client.get_application(offered.id, student), student)
    assert accepted.engagement.status == EngStatus.ENGAGEMENT_STATUS_ACTIVE


async def test_an_unanswered_offer_lapses_and_the_student_may_apply_again(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    student = new_student()
    offered = await client.offered(listing.id, student)
    again = service_pb2.ApplyRequest(listing_id=listing.id, answers=offered.answers)
    assert await client.code_of("Apply", again, student) == grpc.StatusCode.ALREADY_EXISTS
    clock.set(NOW + 3 * DAY + HOUR)
    lapsed = await client.wait_application(offered.id, AppStatus.APPLICATION_STATUS_EXPIRED)
    assert lapsed.reason == "offer lapsed"
    second = await client.apply(listing.id, student)
    assert second.id != offered.id


async def test_a_revision_never_delivered_goes_to_a_dispute(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    student = new_student()
    submitted = await client.submit(await client.engaged(listing.id, student), student)
    revising = await client.revise(submitted)
    assert revising.deadline_time.ToDatetime(tzinfo=UTC) == NOW + 7 * DAY
    clock.set(NOW + 7 * DAY + HOUR)
    disputed = await client.wait_engagement(revising.id, EngStatus.ENGAGEMENT_STATUS_DISPUTED)
    assert disputed.dispute.opened_by == resources_pb2.PARTY_PLATFORM
    assert disputed.dispute.reason == "revision not delivered"
    resolved = await client.resolve(disputed, percent=40)
    assert resolved.completion_record_id


async def test_the_student_may_dispute_a_revision_request(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    revising = await client.revise(
        await client.submit(await client.engaged(listing.id, student), student)
    )
    disputed = await client.dispute(revising, student)
    assert disputed.status == EngStatus.ENGAGEMENT_STATUS_DISPUTED


async def test_feedback_takes_a_version_and_closes_with_its_window(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    student = new_student()
    approved = await client.approve(
        await client.submit(await client.engaged(listing.id, student), student)
    )
    assert approved.feedback_due_time.ToDatetime(tzinfo=UTC) == NOW + 14 * DAY
    stale = service_pb2.LeaveFeedbackRequest(
        engagement_id=approved.id, rating=5, expected_version=approved.version - 1
    )
    assert await client.code_of("LeaveFeedback", stale, student) == grpc.StatusCode.ABORTED
    current = service_pb2.LeaveFeedbackRequest(
        engagement_id=approved.id, rating=5, expected_version=approved.version
    )
    assert await client.code_of("LeaveFeedback", current, student) == grpc.StatusCode.OK
    clock.set(NOW + 14 * DAY + HOUR)
    late = service_pb2.LeaveFeedbackRequest(engagement_id=approved.id, rating=1)
    assert await client.code_of("LeaveFeedback", late, EMPLOYER) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
