"""Protobuf mapping: resources for callers, redacted resources in events, consumed events."""

from __future__ import annotations

from stint.applications.v1 import events_pb2, resources_pb2
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.payouts.v1 import events_pb2 as payouts_events
from stint.payouts.v1 import resources_pb2 as payouts_resources
from stint_applications.adapters import contracts
from stint_applications.domain import events
from stint_applications.domain.engagement import Party
from stint_applications.domain.listing import ListingStatus

from tests.applications.builders import (
    CRITERIA,
    NOW,
    POLICY,
    application,
    checklist,
    engagement,
    listing,
    offered,
    submitted,
)


def test_an_application_for_its_reader_has_everything() -> None:
    message = contracts.application_message(application())
    assert message.status == resources_pb2.APPLICATION_STATUS_SUBMITTED
    assert (message.cover_letter, message.answers[0].question_id) == (
        "I build dashboards.",
        "portfolio",
    )
    assert message.decide_by_time.ToDatetime().day == 8


def test_application_events_leave_out_free_text() -> None:
    app = application()
    app.withdraw("personal reasons", NOW)
    event = contracts.application_event(events.ApplicationWithdrawn("a-1"), app)
    assert isinstance(event, events_pb2.ApplicationWithdrawn)
    assert event.application.cover_letter == event.application.reason == ""
    assert list(event.application.answers) == []
    rejected = contracts.application_event(events.ApplicationRejected("a-1", "not a fit"), app)
    assert isinstance(rejected, events_pb2.ApplicationRejected)
    assert rejected.reason == "not a fit"


def test_only_the_employers_rejection_reason_is_carried_in_application_events() -> None:
    declined = offered()
    declined.decline("found another internship", NOW)
    event = contracts.application_event(events.OfferDeclined("a-1"), declined)
    assert isinstance(event, events_pb2.OfferDeclined)
    assert event.application.reason == event.application.offer_message == ""
    rejected = offered()
    rejected.reject("the role was filled internally", NOW)
    event = contracts.application_event(
        events.ApplicationRejected("a-1", "the role was filled internally"), rejected
    )
    assert isinstance(event, events_pb2.ApplicationRejected)
    assert event.reason == event.application.reason == "the role was filled internally"
    assert (event.application.cover_letter, event.application.offer_message) == ("", "")
    assert list(event.application.answers) == []


def test_engagement_events_carry_the_cancellation_reason_but_no_other_text() -> None:
    cancelled = engagement()
    cancelled.cancel("budget cut", NOW)
    event = contracts.engagement_event(events.EngagementCancelled("e-1", "budget cut"), cancelled)
    assert isinstance(event, events_pb2.EngagementCancelled)
    assert event.reason == event.engagement.cancellation_reason == "budget cut"

    revised = submitted()
    revised.request_revision("make the colours accessible", NOW)
    event = contracts.engagement_event(events.RevisionRequested("e-1", 1), revised)
    assert isinstance(event, events_pb2.RevisionRequested)
    assert [r.reason for r in event.engagement.revisions] == [""]
    assert list(event.engagement.submissions[0].links) == []
    assert list(event.engagement.acceptance_criteria) == []

    disputed = submitted()
    disputed.open_dispute(Party.STUDENT, "stu-1", "no review for a week", NOW)
    disputed.resolve_dispute("adm-1", 60, "partly delivered", NOW)
    event = contracts.engagement_event(events.DisputeResolved("e-1", 60), disputed)
    assert isinstance(event, events_pb2.DisputeResolved)
    assert event.engagement.dispute.payout_percent == 60
    assert (event.engagement.dispute.reason, event.engagement.dispute.resolution) == ("", "")


def test_engagement_events_carry_numbers_but_not_notes() -> None:
    engagement = submitted()
    event = contracts.engagement_event(events.DeliverableSubmitted("e-1", 1), engagement)
    assert isinstance(event, events_pb2.DeliverableSubmitted)
    assert event.submission_number == 1
    assert (event.engagement.submissions[0].number, event.engagement.submissions[0].note) == (1, "")
    assert event.engagement.deadline_time.ToDatetime().day == 8
    full = contracts.engagement_message(engagement, Party.STUDENT)
    assert list(full.submissions[0].links) == ["https://example.org/pr/1"]


def test_the_checklist_and_criteria_reach_the_parties_but_not_events() -> None:
    engagement = submitted()
    employer_view = contracts.engagement_message(engagement, Party.EMPLOYER)
    assert list(employer_view.acceptance_criteria) == list(CRITERIA)
    assert [(k.criterion, k.met, k.comment) for k in employer_view.submissions[0].checklist] == [
        (k.criterion, k.met, k.comment) for k in checklist()
    ]
    event = contracts.engagement_event(events.DeliverableSubmitted("e-1", 1), engagement)
    assert isinstance(event, events_pb2.DeliverableSubmitted)
    assert list(event.engagement.submissions[0].checklist) == []
    assert list(event.engagement.acceptance_criteria) == []
    assert not any(c in str(event) for c in CRITERIA)


def test_the_offer_message_is_shown_to_readers_but_not_in_events() -> None:
    app = offered()
    assert contracts.application_message(app).offer_message == "Welcome aboard"
    event = contracts.application_event(events.OfferExtended("a-1"), app)
    assert isinstance(event, events_pb2.OfferExtended)
    assert event.application.offer_message == ""
    assert "Welcome aboard" not in str(event)


def test_feedback_is_shown_per_viewer_and_published_in_the_event() -> None:
    engagement = submitted()
    engagement.approve(NOW)
    engagement.leave_feedback(Party.STUDENT, "stu-1", 5, "Great", POLICY, NOW)
    assert len(contracts.engagement_message(engagement, Party.STUDENT).feedback) == 1
    assert len(contracts.engagement_message(engagement, Party.EMPLOYER).feedback) == 0
    engagement.leave_feedback(Party.EMPLOYER, "emp-a", 4, "Good", POLICY, NOW)
    event = contracts.engagement_event(events.FeedbackPublished("e-1"), engagement)
    assert isinstance(event, events_pb2.FeedbackPublished)
    assert sorted(f.rating for f in event.feedback) == [4, 5]


def test_every_domain_event_maps_to_its_contract_event() -> None:
    names = {m.__name__ for m in contracts._APPLICATION_EVENTS.values()}
    names |= {m.__name__ for m in contracts._ENGAGEMENT_EVENTS.values()}
    assert names == {
        name
        for name in events.__dict__
        if isinstance(events.__dict__[name], type) and not name.endswith("Event")
    }


def test_a_listing_event_becomes_a_snapshot() -> None:
    expected = listing()
    proto = listings_resources.Listing(
        id="l-1",
        employer_org_id="org-a",
        title=expected.title,
        skills=expected.skills,
        estimated_hours=10,
        seats=2,
        status=listings_resources.LISTING_STATUS_PUBLISHED,
        version=4,
        screening_questions=[
            listings_resources.ScreeningQuestion(id=q.id, text=q.text, required=q.required)
            for q in expected.screening_questions
        ],
        # The same criterion under two deliverables is one criterion to check.
        deliverables=[
            listings_resources.Deliverable(title="Dashboard", acceptance_criteria=CRITERIA[:2]),
            listings_resources.Deliverable(
                title="Tests", acceptance_criteria=[CRITERIA[2], CRITERIA[1]]
            ),
        ],
    )
    proto.fee.amount_minor, proto.fee.currency = 20_000, "USD"
    proto.application_deadline.FromDatetime(expected.application_deadline)
    proto.due_date.FromDatetime(expected.due_date)
    command = contracts.record_listing(listings_events.ListingPublished(listing=proto))
    assert command.listing == expected
    closed = listings_events.ListingClosed(listing=proto)
    closed.listing.status = listings_resources.LISTING_STATUS_CLOSED
    assert contracts.record_listing(closed).listing.status is ListingStatus.CLOSED


def test_payout_paid_names_the_engagement() -> None:
    event = payouts_events.PayoutPaid(payout=payouts_resources.Payout(engagement_id="e-9"))
    assert contracts.record_payout_paid(event).engagement_id == "e-9"
