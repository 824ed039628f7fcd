"""Durable timers through the TimerScanner with a manual clock: expiry and auto-approval."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from stint_applications.adapters.repository import APPLICATIONS, ENGAGEMENTS
from stint_applications.bootstrap import ApplicationsApp, bootstrap
from stint_applications.domain import commands as c
from stint_applications.domain.engagement import AUTO_APPROVE_TIMER
from stint_applications.service_layer import handlers
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import TimerScanner, timer_due_at

from tests.applications.builders import DAY, EMPLOYER, NOW, checklist
from tests.applications.integration.kit import apply, engage, new_listing, outbox, student

pytestmark = pytest.mark.integration


def scanners(app: ApplicationsApp, clock: ManualClock) -> Mapping[str, TimerScanner]:
    return {
        collection: TimerScanner(app.uow_factory, collection, named, clock)
        for collection, named in app.timer_handlers().items()
    }


def fire(app: ApplicationsApp, clock: ManualClock, collection: str) -> int:
    return scanners(app, clock)[collection].fire_due()


def test_an_undecided_application_expires_after_the_sla(
    app: ApplicationsApp, clock: ManualClock
) -> None:
    listing_id = new_listing(app)
    waiting = apply(app, listing_id, student(1))
    clock.set(NOW + 3 * DAY)
    shortlisted = apply(app, listing_id, student(2))
    app.run(handlers.shortlist_application, c.ShortlistApplication(EMPLOYER, shortlisted, 1))
    clock.set(NOW + 7 * DAY)
    fire(app, clock, APPLICATIONS)
    assert outbox(app, waiting)[-1] == ("ApplicationExpired", 2)
    assert outbox(app, shortlisted)[-1][0] == "ApplicationShortlisted"
    clock.set(NOW + 10 * DAY)
    fire(app, clock, APPLICATIONS)
    assert outbox(app, shortlisted)[-1] == ("ApplicationExpired", 3)


def test_an_engagement_without_submission_expires_and_frees_its_seat(
    app: ApplicationsApp, clock: ManualClock
) -> None:
    listing_id = new_listing(app, seats=1)
    eng = engage(app, listing_id, student())
    clock.set(NOW + 23 * DAY - DAY / 24)
    fire(app, clock, ENGAGEMENTS)
    assert outbox(app, eng)[-1][0] == "EngagementStarted"
    clock.set(NOW + 23 * DAY)
    fire(app, clock, ENGAGEMENTS)
    assert outbox(app, eng)[-1] == ("EngagementExpired", 2)
    seats = app.uow_factory.db["seats"].find_one({"_id": listing_id})
    assert seats is not None
    assert seats["holders"] == []


def test_auto_approval_restarts_on_each_resubmission_and_survives_a_restart(
    app: ApplicationsApp, clock: ManualClock, mongo: Client
) -> None:
    listing_id = new_listing(app)
    who = student()
    eng = engage(app, listing_id, who)
    app.run(
        handlers.submit_deliverable, c.SubmitDeliverable(who, eng, 1, "v1", checklist=checklist())
    )
    clock.set(NOW + 2 * DAY)
    app.run(handlers.request_revision, c.RequestRevision(EMPLOYER, eng, 2, "More"))
    clock.set(NOW + 4 * DAY)
    app.run(
        handlers.submit_deliverable, c.SubmitDeliverable(who, eng, 3, "v2", checklist=checklist())
    )
    document = app.uow_factory.db[ENGAGEMENTS].find_one({"_id": eng})
    assert document is not None
    assert timer_due_at(document, AUTO_APPROVE_TIMER) == NOW + 11 * DAY

    # The first submission's deadline passes: nothing fires.
    clock.set(NOW + 7 * DAY)
    fire(app, clock, ENGAGEMENTS)
    assert outbox(app, eng)[-1][0] == "DeliverableSubmitted"

    # A fresh app over the same database (a restart) fires the stored timer.
    restarted = bootstrap(mongo, app.uow_factory.db.name, clock)
    clock.set(NOW + 11 * DAY)
    fire(restarted, clock, ENGAGEMENTS)
    assert outbox(app, eng)[-1] == ("DeliverableApproved", 5)
    stored = restarted.run(handlers.get_engagement, c.GetEngagement(who, eng))
    assert (stored.status.value, stored.payout_percent) == ("AUTO_APPROVED", 100)


def test_feedback_is_published_when_the_window_ends(
    app: ApplicationsApp, clock: ManualClock
) -> None:
    listing_id = new_listing(app)
    who = student()
    eng = engage(app, listing_id, who)
    app.run(
        handlers.submit_deliverable, c.SubmitDeliverable(who, eng, 1, "v1", checklist=checklist())
    )
    app.run(handlers.approve_deliverable, c.ApproveDeliverable(EMPLOYER, eng, 2))
    app.run(handlers.leave_feedback, c.LeaveFeedback(who, eng, 5, "Great"))
    clock.set(NOW + 14 * DAY)
    fire(app, clock, ENGAGEMENTS)
    assert outbox(app, eng)[-1] == ("FeedbackPublished", 5)
