"""Submissions check every acceptance criterion the engagement agreed to; the employer reads the
checklist, events never carry it; both parties read the offer message."""

from __future__ import annotations

import grpc
import pytest
from stint.applications.v1 import resources_pb2, service_pb2
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.topics import APPLICATIONS
from stint_runtime.service import ServiceApp

from tests.applications.api.kit import (
    CRITERIA,
    EMPLOYER,
    ApplicationsClient,
    Engagement,
    EngStatus,
    EventFeed,
    Who,
    checklist_for,
    new_student,
)
from tests.support.grpc_errors import violated_fields
from tests.support.messaging_kit import read_topic

pytestmark = pytest.mark.integration


def _submission(
    e: Engagement, checklist: list[resources_pb2.CriterionCheck]
) -> service_pb2.SubmitDeliverableRequest:
    return service_pb2.SubmitDeliverableRequest(
        engagement_id=e.id,
        expected_version=e.version,
        note="Done: see the pull request",
        links=["https://example.org/pr/1"],
        checklist=checklist,
    )


async def _refusal(
    client: ApplicationsClient, request: service_pb2.SubmitDeliverableRequest, who: Who
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call("SubmitDeliverable", request, who)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert violated_fields(refused.value) == {"checklist"}
    return refused.value


async def test_a_submission_without_the_right_checklist_is_invalid(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    engagement = await client.engaged(listing.id, student)
    assert list(engagement.acceptance_criteria) == list(CRITERIA)
    full = checklist_for(engagement)

    missing = await _refusal(client, _submission(engagement, full[:2]), student)
    assert CRITERIA[2] in (missing.details() or "")
    unknown = resources_pb2.CriterionCheck(criterion="Has a dark mode", met=True)
    extra = await _refusal(client, _submission(engagement, [*full, unknown]), student)
    assert "Has a dark mode" in (extra.details() or "")
    await _refusal(client, _submission(engagement, [*full, full[0]]), student)
    await _refusal(client, _submission(engagement, []), student)

    unchanged = await client.get_engagement(engagement.id, student)
    assert (unchanged.status, unchanged.version) == (engagement.status, engagement.version)


async def test_the_employer_reads_the_checklist_that_events_leave_out(
    client: ApplicationsClient, feed: EventFeed, service: ServiceApp
) -> None:
    listing = await feed.published()
    student = new_student()
    engagement = await client.engaged(listing.id, student)
    # The student declares honestly: one criterion is not met, in an order of its own.
    checks = list(reversed(checklist_for(engagement)))
    checks[0].met = False
    checks[0].comment = "no test runner in the repository yet"
    submitted = await client.call("SubmitDeliverable", _submission(engagement, checks), student)
    assert submitted.engagement.status == EngStatus.ENGAGEMENT_STATUS_SUBMITTED

    seen = await client.get_engagement(engagement.id, EMPLOYER)
    stored = [(k.criterion, k.met, k.comment) for k in seen.submissions[0].checklist]
    assert stored == [
        (CRITERIA[0], True, "see the pull request"),
        (CRITERIA[1], True, "see the pull request"),
        (CRITERIA[2], False, "no test runner in the repository yet"),
    ]

    mine = engagement.id.encode()
    records = await read_topic(
        service.settings.kafka_bootstrap_servers,
        APPLICATIONS,
        until=lambda records: sum(r.key == mine for r in records) >= 2,
    )
    payloads = [r.value for r in records if r.key == mine]
    assert len(payloads) >= 2, "EngagementStarted and DeliverableSubmitted"
    for payload in payloads:
        assert b"no test runner" not in payload
        assert not any(c.encode() in payload for c in CRITERIA)


async def test_the_agreed_criteria_survive_a_listing_edit(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    engagement = await client.engaged(listing.id, student)
    edited = listings_resources.Listing()
    edited.CopyFrom(listing)
    edited.version = listing.version + 1
    del edited.deliverables[:]
    edited.deliverables.add(title="App", acceptance_criteria=["Ships a mobile app"])
    await feed.listing(edited, listings_events.ListingUpdated)

    again = await client.get_engagement(engagement.id, student)
    assert list(again.acceptance_criteria) == list(CRITERIA)
    submitted = await client.submit(again, student)
    assert submitted.status == EngStatus.ENGAGEMENT_STATUS_SUBMITTED


async def test_both_parties_read_the_offer_message(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    offered = await client.offered(listing.id, student)
    assert offered.offer_message == "Welcome"
    for who in (student, EMPLOYER):
        assert (await client.get_application(offered.id, who)).offer_message == "Welcome"
