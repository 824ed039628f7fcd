"""The consumed events through the app's event handlers, and the signed completion record."""

from __future__ import annotations

import pytest
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.payouts.v1 import events_pb2 as payouts_events
from stint.payouts.v1 import resources_pb2 as payouts_resources
from stint_applications.adapters.signing import verify
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.service_layer import handlers
from stint_runtime.errors import FailedPrecondition

from tests.applications.builders import EMPLOYER, checklist, listing
from tests.applications.integration.kit import engage, new_listing, outbox, student

pytestmark = pytest.mark.integration


def deliver(app: ApplicationsApp, event: object) -> None:
    handler = app.event_handlers()[type(event).DESCRIPTOR.full_name]  # type: ignore[attr-defined]
    app.uow_factory.run(lambda uow: handler(event, EventEnvelope(), uow))  # type: ignore[arg-type]


def test_a_listing_event_updates_the_snapshot(app: ApplicationsApp) -> None:
    expected = listing("l-consumed", version=7)
    message = listings_resources.Listing(
        id=expected.id,
        employer_org_id=expected.employer_org_id,
        title=expected.title,
        seats=3,
        status=listings_resources.LISTING_STATUS_PUBLISHED,
        version=7,
    )
    message.fee.amount_minor, message.fee.currency = 20_000, "USD"
    message.application_deadline.FromDatetime(expected.application_deadline)
    message.due_date.FromDatetime(expected.due_date)
    deliver(app, listings_events.ListingPublished(listing_id=expected.id, listing=message))
    stored = app.uow_factory.db["listing_snapshots"].find_one({"_id": expected.id})
    assert stored is not None
    assert (stored["status"], stored["seats"], stored["version"]) == ("PUBLISHED", 3, 7)


def test_payout_paid_completes_and_the_record_verifies(app: ApplicationsApp) -> None:
    who = student()
    eng = engage(app, new_listing(app), who)
    with pytest.raises(FailedPrecondition, match="ACTIVE"):
        app.completion_record(c.GetCompletionRecord(who, eng))
    app.run(
        handlers.submit_deliverable, c.SubmitDeliverable(who, eng, 1, "Done", checklist=checklist())
    )
    app.run(handlers.approve_deliverable, c.ApproveDeliverable(EMPLOYER, eng, 2))
    paid = payouts_events.PayoutPaid(payout=payouts_resources.Payout(engagement_id=eng))
    deliver(app, paid)
    deliver(app, paid)
    assert [name for name, _ in outbox(app, eng)].count("EngagementCompleted") == 1
    record = app.completion_record(c.GetCompletionRecord(who, eng))
    assert record.claim.engagement_id == eng
    assert verify(record, app.signer.public_key)
    record.claim.student_id = "someone-else"
    assert not verify(record, app.signer.public_key)
