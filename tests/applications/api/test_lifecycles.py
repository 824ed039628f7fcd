"""Both lifecycles end to end over gRPC, with the events each step publishes on applications.v1
and the listings.v1 / payouts.v1 events the service reacts to."""

from __future__ import annotations

import pytest
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint_applications.adapters.signing import dev_private_key, verify
from stint_runtime.service import ServiceApp

from tests.applications.api.kit import (
    ADMIN,
    EMPLOYER,
    ApplicationsClient,
    AppStatus,
    EngStatus,
    EventFeed,
    new_student,
    published_events,
)

pytestmark = pytest.mark.integration


async def test_an_application_goes_from_apply_to_a_paid_verifiable_engagement(
    client: ApplicationsClient, feed: EventFeed, service: ServiceApp
) -> None:
    listing = await feed.published()
    student = new_student()

    applied = await client.apply(listing.id, student)
    assert applied.status == AppStatus.APPLICATION_STATUS_SUBMITTED
    assert applied.employer_org_id == listing.employer_org_id
    shortlisted = await client.shortlist(applied)
    offered = await client.offer(shortlisted)
    accepted = await client.accept(offered, student)
    assert accepted.application.status == AppStatus.APPLICATION_STATUS_ACCEPTED
    engagement = accepted.engagement
    assert accepted.application.engagement_id == engagement.id
    assert engagement.status == EngStatus.ENGAGEMENT_STATUS_ACTIVE
    assert engagement.fee.amount_minor == listing.fee.amount_minor
    assert engagement.revisions_remaining == 2

    submitted = await client.submit(engagement, student)
    assert submitted.status == EngStatus.ENGAGEMENT_STATUS_SUBMITTED
    revising = await client.revise(submitted)
    assert revising.status == EngStatus.ENGAGEMENT_STATUS_REVISION_REQUESTED
    resubmitted = await client.submit(revising, student)
    assert [s.number for s in resubmitted.submissions] == [1, 2]
    approved = await client.approve(resubmitted)
    assert approved.status == EngStatus.ENGAGEMENT_STATUS_APPROVED
    assert approved.payout_percent == 100

    by_student = await client.feedback(approved, student, rating=5)
    assert [f.rating for f in by_student.feedback] == [5]
    hidden = await client.get_engagement(approved.id, EMPLOYER)
    assert not hidden.feedback, "double-blind: the employer must not see the student's rating"
    both = await client.feedback(hidden, EMPLOYER, rating=4)
    assert both.feedback_published
    assert sorted(f.rating for f in both.feedback) == [4, 5]

    await feed.payout_paid(both)
    paid = await client.wait_engagement(both.id, EngStatus.ENGAGEMENT_STATUS_PAID)
    record = await client.record(paid.id, student)
    assert verify(record, dev_private_key().public_key())
    assert record.claim.student_id == student.subject

    assert await published_events(service.settings.kafka_bootstrap_servers, applied.id, 4) == [
        "ApplicationSubmitted",
        "ApplicationShortlisted",
        "OfferExtended",
        "OfferAccepted",
    ]
    assert await published_events(service.settings.kafka_bootstrap_servers, engagement.id, 7) == [
        "EngagementStarted",
        "DeliverableSubmitted",
        "RevisionRequested",
        "DeliverableSubmitted",
        "DeliverableApproved",
        "FeedbackPublished",
        "EngagementCompleted",
    ]


async def test_the_other_application_endings(client: ApplicationsClient, feed: EventFeed) -> None:
    listing = await feed.published()
    withdrawer, rejected, decliner = new_student(), new_student(), new_student()

    withdrawn = await client.withdraw(await client.apply(listing.id, withdrawer), withdrawer)
    assert withdrawn.status == AppStatus.APPLICATION_STATUS_WITHDRAWN
    refused = await client.reject(await client.shortlist(await client.apply(listing.id, rejected)))
    assert refused.status == AppStatus.APPLICATION_STATUS_REJECTED
    assert refused.reason == "not a fit"
    declined = await client.decline(await client.offered(listing.id, decliner), decliner)
    assert declined.status == AppStatus.APPLICATION_STATUS_DECLINED


async def test_a_dispute_is_resolved_by_an_admin_with_a_payout_share(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    submitted = await client.submit(await client.engaged(listing.id, student), student)
    disputed = await client.dispute(submitted, student)
    assert disputed.status == EngStatus.ENGAGEMENT_STATUS_DISPUTED
    resolved = await client.resolve(disputed, percent=60)
    assert resolved.status == EngStatus.ENGAGEMENT_STATUS_RESOLVED
    assert resolved.payout_percent == 60
    assert resolved.dispute.resolved_by_user_id == ADMIN.subject
    after = await client.feedback(resolved, EMPLOYER, rating=3)
    assert after.status == EngStatus.ENGAGEMENT_STATUS_RESOLVED


async def test_cancelling_an_engagement_frees_its_seat(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published(seats=1)
    first, second = new_student(), new_student()
    engagement = await client.engaged(listing.id, first)
    waiting = await client.offered(listing.id, second)

    cancelled = await client.cancel(engagement)
    assert cancelled.status == EngStatus.ENGAGEMENT_STATUS_CANCELLED
    assert cancelled.cancellation_reason == "project dropped"
    taken = await client.accept(waiting, second)
    assert taken.engagement.status == EngStatus.ENGAGEMENT_STATUS_ACTIVE


async def test_a_closing_listing_rejects_its_undecided_applications(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    submitted = await client.apply(listing.id, new_student())
    student = new_student()
    offered = await client.offered(listing.id, student)

    await feed.changed(
        listing, listings_resources.LISTING_STATUS_CLOSED, listings_events.ListingClosed
    )
    closed = await client.get_application(submitted.id)
    assert closed.status == AppStatus.APPLICATION_STATUS_REJECTED
    assert closed.reason
    # An offer made while the listing was open outlives its close (test_offers.py).
    kept = await client.get_application(offered.id)
    assert kept.status == AppStatus.APPLICATION_STATUS_OFFERED
