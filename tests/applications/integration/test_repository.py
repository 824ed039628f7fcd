"""Repositories on the real database: documents, uniqueness, outbox, closures, lists."""

from __future__ import annotations

import pytest
from stint.common.v1.events_pb2 import EventEnvelope
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.domain.application import ApplicationStatus
from stint_applications.domain.engagement import EngagementStatus
from stint_applications.domain.listing import ListingStatus
from stint_applications.service_layer import handlers
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict, FailedPrecondition
from stint_runtime.persistence.unit_of_work import OUTBOX

from tests.applications.builders import ADMIN, EMPLOYER, NOW, checklist, listing
from tests.applications.integration.kit import (
    apply,
    engage,
    new_listing,
    offer,
    outbox,
    student,
)

pytestmark = pytest.mark.integration
A = ApplicationStatus
E = EngagementStatus


def test_an_application_round_trips_through_its_document(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    application_id = offer(app, listing_id, who)
    stored = app.run(handlers.get_application, c.GetApplication(who, application_id))
    assert (stored.status, stored.version, stored.listing_id) == (A.OFFERED, 3, listing_id)
    assert stored.answers[0].question_id == "portfolio"
    assert stored.create_time == NOW


def test_an_engagement_round_trips_through_its_document(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    eng = engage(app, listing_id, who)
    app.run(
        handlers.submit_deliverable,
        c.SubmitDeliverable(who, eng, 1, "Done", ("https://x.org",), checklist=checklist()),
    )
    app.run(handlers.request_revision, c.RequestRevision(EMPLOYER, eng, 2, "Tests"))
    app.run(
        handlers.submit_deliverable,
        c.SubmitDeliverable(who, eng, 3, "Again", checklist=checklist()),
    )
    app.run(handlers.open_dispute, c.OpenDispute(who, eng, 4, "Silence"))
    app.run(handlers.resolve_dispute, c.ResolveDispute(ADMIN, eng, 5, 60, "Mostly done"))
    app.run(handlers.leave_feedback, c.LeaveFeedback(who, eng, 5, "Fair"))
    stored = app.run(handlers.get_engagement, c.GetEngagement(who, eng))
    assert (stored.status, stored.payout_percent, stored.version) == (E.RESOLVED, 60, 7)
    assert [s.number for s in stored.submissions] == [1, 2]
    assert stored.revisions[0].reason == "Tests"
    assert stored.dispute is not None
    assert stored.dispute.resolved_by_user_id == ADMIN.subject
    assert stored.feedback[0].rating == 5
    assert stored.fee == listing().fee


def test_one_application_per_student_and_listing(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    apply(app, listing_id, who)
    with pytest.raises(AlreadyExists, match="already applied"):
        apply(app, listing_id, who)
    apply(app, listing_id, student(1))
    assert app.uow_factory.db["applications"].count_documents({"listing_id": listing_id}) == 2


def test_state_and_events_land_together_in_the_outbox(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    application_id = offer(app, listing_id, who)
    accepted = app.run(handlers.accept_offer, c.AcceptOffer(who, application_id, 3))
    assert outbox(app, application_id) == [
        ("ApplicationSubmitted", 1),
        ("ApplicationShortlisted", 2),
        ("OfferExtended", 3),
        ("OfferAccepted", 4),
    ]
    assert outbox(app, accepted.engagement.id) == [("EngagementStarted", 1)]
    [record] = app.uow_factory.db[OUTBOX].find({"key": accepted.engagement.id})
    envelope = EventEnvelope.FromString(record["envelope"])
    assert (record["topic"], envelope.subject) == ("applications.v1", accepted.engagement.id)


def test_a_failed_use_case_leaves_neither_state_nor_events(app: ApplicationsApp) -> None:
    listing_id = new_listing(app, seats=1)
    engage(app, listing_id, student())
    latecomer = student(1)
    late = offer(app, listing_id, latecomer)
    with pytest.raises(FailedPrecondition, match="seat"):
        app.run(handlers.accept_offer, c.AcceptOffer(latecomer, late, 3))
    stored = app.uow_factory.db["applications"].find_one({"_id": late})
    assert stored is not None
    assert (stored["status"], stored["version"]) == ("OFFERED", 3)
    assert [name for name, _ in outbox(app, late)][-1] == "OfferExtended"


def test_a_stale_version_conflicts(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    application_id = apply(app, listing_id, student())
    app.run(handlers.shortlist_application, c.ShortlistApplication(EMPLOYER, application_id, 1))
    with pytest.raises(ConcurrencyConflict):
        app.run(handlers.reject_application, c.RejectApplication(EMPLOYER, application_id, 1, "x"))


def test_a_closing_listing_rejects_undecided_applications(app: ApplicationsApp) -> None:
    listing_id = new_listing(app, seats=3)
    waiting = apply(app, listing_id, student(1))
    offered = offer(app, listing_id, student(2))
    eng = engage(app, listing_id, student(3))
    closed = listing(listing_id, seats=3, status=ListingStatus.CLOSED, version=9)
    app.run(handlers.record_listing, c.RecordListing(closed))
    # An offer made while the listing was open outlives its close.
    kept = app.uow_factory.db["applications"].find_one({"_id": offered})
    assert kept is not None
    assert kept["status"] == "OFFERED"
    for application_id in (waiting,):
        assert outbox(app, application_id)[-1][0] == "ApplicationRejected"
        document = app.uow_factory.db["applications"].find_one({"_id": application_id})
        assert document is not None
        assert (document["status"], document["reason"]) == ("REJECTED", "the listing was closed")
    assert app.uow_factory.db["engagements"].find_one({"_id": eng})["status"] == "ACTIVE"  # type: ignore[index]
    older = listing(listing_id, seats=3, version=8)
    assert not app.run(handlers.record_listing, c.RecordListing(older))


def test_lists_page_through_what_the_caller_may_see(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    for n in range(5):
        apply(app, listing_id, student(n))
    seen: list[str] = []
    token = ""
    while True:
        page = app.run(
            handlers.list_applications,
            c.ListApplications(EMPLOYER, listing_id=listing_id, page_size=2, page_token=token),
        )
        seen.extend(a.id for a in page.items)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 5
    other = c.Actor("emp-z", "employer", "org-z")
    assert app.run(handlers.list_applications, c.ListApplications(other, listing_id)).items == []
    engs = app.run(handlers.list_engagements, c.ListEngagements(EMPLOYER, listing_id=listing_id))
    assert engs.items == []
