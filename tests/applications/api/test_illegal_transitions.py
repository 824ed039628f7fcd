"""Every transition the lifecycles of DESIGN.md §2 do not allow is FAILED_PRECONDITION.

For each state, one aggregate is brought there over gRPC; then every command the state does
not allow is tried on it, by a caller allowed to make it, at the aggregate's current version
(so only the state can refuse it). Refusals change nothing, so one aggregate serves the row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from stint.applications.v1 import service_pb2
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources

from tests.applications.api.kit import (
    ADMIN,
    EMPLOYER,
    Application,
    ApplicationsClient,
    AppStatus,
    Engagement,
    EngStatus,
    EventFeed,
    Who,
    answers,
    checklist_for,
    new_student,
)

pytestmark = pytest.mark.integration
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION

# command -> (who makes it: "student" or a fixed caller, the request for an aggregate)
ApplicationRequest = Callable[[Application], Message]
EngagementRequest = Callable[[Engagement], Message]

APPLICATION_COMMANDS: dict[str, tuple[str, ApplicationRequest]] = {
    "ShortlistApplication": (
        "employer",
        lambda a: service_pb2.ShortlistApplicationRequest(
            application_id=a.id, expected_version=a.version
        ),
    ),
    "ExtendOffer": (
        "employer",
        lambda a: service_pb2.ExtendOfferRequest(application_id=a.id, expected_version=a.version),
    ),
    "RejectApplication": (
        "employer",
        lambda a: service_pb2.RejectApplicationRequest(
            application_id=a.id, expected_version=a.version, reason="no"
        ),
    ),
    "WithdrawApplication": (
        "student",
        lambda a: service_pb2.WithdrawApplicationRequest(
            application_id=a.id, expected_version=a.version
        ),
    ),
    "AcceptOffer": (
        "student",
        lambda a: service_pb2.AcceptOfferRequest(application_id=a.id, expected_version=a.version),
    ),
    "DeclineOffer": (
        "student",
        lambda a: service_pb2.DeclineOfferRequest(application_id=a.id, expected_version=a.version),
    ),
}
APPLICATION_ALLOWED: dict[str, set[str]] = {
    "SUBMITTED": {
        "ShortlistApplication",
        "ExtendOffer",
        "RejectApplication",
        "WithdrawApplication",
    },
    "SHORTLISTED": {"ExtendOffer", "RejectApplication", "WithdrawApplication"},
    "OFFERED": {"RejectApplication", "AcceptOffer", "DeclineOffer"},
    "ACCEPTED": set(),
    "REJECTED": set(),
    "WITHDRAWN": set(),
    "DECLINED": set(),
}

ENGAGEMENT_COMMANDS: dict[str, tuple[str, EngagementRequest]] = {
    "SubmitDeliverable": (
        "student",
        lambda e: service_pb2.SubmitDeliverableRequest(
            engagement_id=e.id, expected_version=e.version, note="again", checklist=checklist_for(e)
        ),
    ),
    "RequestRevision": (
        "employer",
        lambda e: service_pb2.RequestRevisionRequest(
            engagement_id=e.id, expected_version=e.version, reason="more"
        ),
    ),
    "ApproveDeliverable": (
        "employer",
        lambda e: service_pb2.ApproveDeliverableRequest(
            engagement_id=e.id, expected_version=e.version
        ),
    ),
    "CancelEngagement": (
        "employer",
        lambda e: service_pb2.CancelEngagementRequest(
            engagement_id=e.id, expected_version=e.version, reason="stop"
        ),
    ),
    "OpenDispute": (
        "student",
        lambda e: service_pb2.OpenDisputeRequest(
            engagement_id=e.id, expected_version=e.version, reason="unfair"
        ),
    ),
    "ResolveDispute": (
        "admin",
        lambda e: service_pb2.ResolveDisputeRequest(
            engagement_id=e.id, expected_version=e.version, payout_percent=50, resolution="half"
        ),
    ),
    "LeaveFeedback": (
        "student",
        lambda e: service_pb2.LeaveFeedbackRequest(engagement_id=e.id, rating=4),
    ),
    "GetCompletionRecord": (
        "student",
        lambda e: service_pb2.GetCompletionRecordRequest(engagement_id=e.id),
    ),
}
ENGAGEMENT_ALLOWED: dict[str, set[str]] = {
    "ACTIVE": {"SubmitDeliverable", "CancelEngagement"},
    "SUBMITTED": {"RequestRevision", "ApproveDeliverable", "OpenDispute"},
    # Either side may dispute a revision request.
    "REVISION_REQUESTED": {"SubmitDeliverable", "OpenDispute"},
    # Accepted work has its completion record at once, paid or not.
    "APPROVED": {"LeaveFeedback", "GetCompletionRecord"},
    "CANCELLED": set(),
    "DISPUTED": {"ResolveDispute"},
    "RESOLVED": {"LeaveFeedback", "GetCompletionRecord"},
    "PAID": {"LeaveFeedback", "GetCompletionRecord"},
    # Both sides left feedback: it is published, and nobody may add more.
    "PAID_AND_REVIEWED": {"GetCompletionRecord"},
}


def caller(kind: str, student: Who) -> Who:
    return {"student": student, "employer": EMPLOYER, "admin": ADMIN}[kind]


async def application_in(
    state: str, client: ApplicationsClient, feed: EventFeed, student: Who
) -> Application:
    listing = await feed.published()
    applied = await client.apply(listing.id, student)
    steps: dict[str, Callable[[], Awaitable[Application]]] = {
        "SUBMITTED": lambda: _already(applied),
        "SHORTLISTED": lambda: client.shortlist(applied),
        "OFFERED": lambda: client.offered_from(applied),
        "ACCEPTED": lambda: _accepted(client, applied, student),
        "REJECTED": lambda: client.reject(applied),
        "WITHDRAWN": lambda: client.withdraw(applied, student),
        "DECLINED": lambda: _declined(client, applied, student),
    }
    return await steps[state]()


async def _already(application: Application) -> Application:
    return application


async def _accepted(client: ApplicationsClient, applied: Application, who: Who) -> Application:
    return (await client.accept(await client.offered_from(applied), who)).application


async def _declined(client: ApplicationsClient, applied: Application, who: Who) -> Application:
    return await client.decline(await client.offered_from(applied), who)


async def engagement_in(
    state: str, client: ApplicationsClient, feed: EventFeed, student: Who
) -> Engagement:
    listing = await feed.published()
    active = await client.engaged(listing.id, student)
    if state == "ACTIVE":
        return active
    if state == "CANCELLED":
        return await client.cancel(active)
    submitted = await client.submit(active, student)
    if state == "SUBMITTED":
        return submitted
    if state == "REVISION_REQUESTED":
        return await client.revise(submitted)
    if state in {"DISPUTED", "RESOLVED"}:
        disputed = await client.dispute(submitted, student)
        return disputed if state == "DISPUTED" else await client.resolve(disputed)
    approved = await client.approve(submitted)
    if state == "APPROVED":
        return approved
    await feed.payout_paid(approved)
    paid = await client.wait_engagement(approved.id, EngStatus.ENGAGEMENT_STATUS_PAID)
    if state == "PAID":
        return paid
    await client.feedback(paid, EMPLOYER)
    return await client.feedback(paid, student)


async def refusals(
    client: ApplicationsClient,
    student: Who,
    commands: dict[str, tuple[str, Callable[[Any], Message]]],
    allowed: set[str],
    aggregate: Any,
) -> dict[str, grpc.StatusCode]:
    """The status of every command the state does not allow, when it is not the refusal."""
    wrong = {}
    for method, (kind, request) in commands.items():
        if method in allowed:
            continue
        code = await client.code_of(method, request(aggregate), caller(kind, student))
        if code != FAILED_PRECONDITION:
            wrong[method] = code
    return wrong


@pytest.mark.parametrize("state", sorted(APPLICATION_ALLOWED))
async def test_an_application_refuses_what_its_state_does_not_allow(
    state: str, client: ApplicationsClient, feed: EventFeed
) -> None:
    student = new_student()
    application = await application_in(state, client, feed, student)
    wrong = await refusals(
        client, student, APPLICATION_COMMANDS, APPLICATION_ALLOWED[state], application
    )
    assert not wrong, f"{state}: not FAILED_PRECONDITION: {wrong}"
    unchanged = await client.get_application(application.id)
    assert unchanged.version == application.version


@pytest.mark.parametrize("state", sorted(ENGAGEMENT_ALLOWED))
async def test_an_engagement_refuses_what_its_state_does_not_allow(
    state: str, client: ApplicationsClient, feed: EventFeed
) -> None:
    student = new_student()
    engagement = await engagement_in(state, client, feed, student)
    wrong = await refusals(
        client, student, ENGAGEMENT_COMMANDS, ENGAGEMENT_ALLOWED[state], engagement
    )
    assert not wrong, f"{state}: not FAILED_PRECONDITION: {wrong}"
    unchanged = await client.get_engagement(engagement.id)
    assert unchanged.version == engagement.version


async def test_a_revision_beyond_the_limit_is_refused(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    engagement = await client.submit(await client.engaged(listing.id, student), student)
    for _ in range(2):
        engagement = await client.submit(await client.revise(engagement), student)
    assert engagement.revisions_remaining == 0
    request = service_pb2.RequestRevisionRequest(
        engagement_id=engagement.id, expected_version=engagement.version, reason="once more"
    )
    assert await client.code_of("RequestRevision", request, EMPLOYER) == FAILED_PRECONDITION
    # With the revisions used up the employer may take it to a dispute instead.
    disputed = await client.dispute(engagement, EMPLOYER)
    assert disputed.dispute.opened_by_user_id == EMPLOYER.subject


async def test_applying_twice_or_to_a_closed_listing_is_refused(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    await client.apply(listing.id, student)
    again = service_pb2.ApplyRequest(listing_id=listing.id, answers=answers())
    assert await client.code_of("Apply", again, student) == grpc.StatusCode.ALREADY_EXISTS
    unanswered = service_pb2.ApplyRequest(listing_id=listing.id)
    assert await client.code_of("Apply", unanswered, new_student()) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )

    await feed.changed(
        listing, listings_resources.LISTING_STATUS_CLOSED, listings_events.ListingClosed
    )
    assert await client.code_of("Apply", again, new_student()) == FAILED_PRECONDITION


async def test_an_offer_cannot_be_accepted_after_the_listing_was_cancelled(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    offered = await client.offered(listing.id, student)
    await feed.changed(
        listing, listings_resources.LISTING_STATUS_CANCELLED, listings_events.ListingCancelled
    )
    rejected = await client.get_application(offered.id)
    assert rejected.status == AppStatus.APPLICATION_STATUS_REJECTED
    assert rejected.reason == "the listing was cancelled"
    request = service_pb2.AcceptOfferRequest(
        application_id=rejected.id, expected_version=rejected.version
    )
    assert await client.code_of("AcceptOffer", request, student) == FAILED_PRECONDITION
    assert not (await client.get_application(offered.id)).engagement_id
    engagements = await client.call(
        "ListEngagements", service_pb2.ListEngagementsRequest(listing_id=listing.id), EMPLOYER
    )
    assert list(engagements.engagements) == []
