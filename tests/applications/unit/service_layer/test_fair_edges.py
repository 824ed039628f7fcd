"""Issue #8's dead ends and unfair edges through the use cases: revision window, offers with
their own clock, listing terms on applications, feedback window from acceptance, re-applying,
offers straight from SUBMITTED and feedback with a version check."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from stint_applications.config import ApplicationsSettings
from stint_applications.domain import commands as c
from stint_applications.domain import events
from stint_applications.domain.application import OFFER_LAPSED, ApplicationStatus
from stint_applications.domain.engagement import (
    REVISION_NOT_DELIVERED,
    EngagementStatus,
    Party,
)
from stint_applications.domain.listing import CLOSING_REASONS, ListingStatus
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Context
from stint_runtime.clock import ManualClock
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict, FailedPrecondition

from tests.applications.builders import (
    ADMIN,
    ANSWERS,
    DAY,
    EMPLOYER,
    NOW,
    OTHER_STUDENT,
    STUDENT,
    checklist,
    listing,
)
from tests.applications.unit.fakes import FakeStore

A = ApplicationStatus
E = EngagementStatus
HOUR = timedelta(hours=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def ctx(clock: ManualClock) -> Context:
    ids = itertools.count(1)
    return Context(clock=clock, new_id=lambda: f"id-{next(ids)}")


def _version(store: FakeStore, ident: str) -> int:
    found = store.applications.stored.get(ident) or store.engagements.stored[ident]
    return found.version


def _apply(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    return handlers.apply(c.Apply(student, "l-1", "Hi", ANSWERS), store, ctx).id


def _offer(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    app_id = _apply(store, ctx, student)
    handlers.extend_offer(c.ExtendOffer(EMPLOYER, app_id, 1, "Join us"), store, ctx)
    return app_id


def _engage(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    app_id = _offer(store, ctx, student)
    accepted = handlers.accept_offer(c.AcceptOffer(student, app_id, 2), store, ctx)
    return accepted.engagement.id


def _submit(store: FakeStore, ctx: Context, eng: str) -> None:
    command = c.SubmitDeliverable(STUDENT, eng, _version(store, eng), "Done", (), checklist())
    handlers.submit_deliverable(command, store, ctx)


def _revise(store: FakeStore, ctx: Context, eng: str) -> None:
    command = c.RequestRevision(EMPLOYER, eng, _version(store, eng), "Add totals")
    handlers.request_revision(command, store, ctx)


def _approve(store: FakeStore, ctx: Context, eng: str) -> None:
    handlers.approve_deliverable(
        c.ApproveDeliverable(EMPLOYER, eng, _version(store, eng)), store, ctx
    )


# ---- 1. the revision window --------------------------------------------------------------------


def test_a_revision_never_delivered_becomes_a_dispute_for_an_admin(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    _revise(store, ctx, eng)
    clock.advance(7 * DAY - HOUR)
    assert handlers.lapse_revision(c.LapseRevision(eng), store, ctx) is None
    clock.advance(HOUR)
    disputed = handlers.lapse_revision(c.LapseRevision(eng), store, ctx)
    assert disputed is not None
    assert disputed.status is E.DISPUTED
    assert disputed.dispute is not None
    assert (disputed.dispute.opened_by, disputed.dispute.reason) == (
        Party.PLATFORM,
        REVISION_NOT_DELIVERED,
    )
    assert store.events_of(eng)[-1] == events.DisputeOpened(eng)
    assert disputed.wanted_timers() == {}
    resolve = c.ResolveDispute(ADMIN, eng, disputed.version, 30, "Part of the work was done")
    resolved = handlers.resolve_dispute(resolve, store, ctx)
    assert (resolved.status, resolved.payout_percent) == (E.RESOLVED, 30)
    assert resolved.completion_record_id


@pytest.mark.parametrize("side", [STUDENT, EMPLOYER])
def test_either_side_may_dispute_a_revision_request(ctx: Context, side: c.Actor) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    _revise(store, ctx, eng)
    command = c.OpenDispute(side, eng, _version(store, eng), "We disagree on the scope")
    assert handlers.open_dispute(command, store, ctx).status is E.DISPUTED


def test_each_revision_request_restarts_the_window(clock: ManualClock, ctx: Context) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    _revise(store, ctx, eng)
    clock.advance(5 * DAY)
    _submit(store, ctx, eng)
    _revise(store, ctx, eng)
    clock.advance(5 * DAY)
    assert handlers.lapse_revision(c.LapseRevision(eng), store, ctx) is None
    assert store.engagements.stored[eng].status is E.REVISION_REQUESTED


# ---- 3. the listing's terms on the application ------------------------------------------------


def test_an_application_carries_the_listing_terms_it_was_made_under(ctx: Context) -> None:
    store = FakeStore(listing())
    app = handlers.apply(c.Apply(STUDENT, "l-1", "Hi", ANSWERS), store, ctx)
    assert app.terms is not None
    snapshot = listing()
    assert (app.terms.title, app.terms.employer_org_id, app.terms.fee) == (
        snapshot.title,
        snapshot.employer_org_id,
        snapshot.fee,
    )
    assert (app.terms.estimated_hours, app.terms.due_date) == (10, snapshot.due_date)


# ---- 4. offers keep their own clock ----------------------------------------------------------


def test_an_unanswered_offer_lapses_after_its_window_and_takes_no_seat(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing(seats=1))
    app_id = _offer(store, ctx)
    assert store.applications.stored[app_id].respond_by == NOW + 3 * DAY
    clock.advance(3 * DAY - HOUR)
    assert handlers.lapse_offer(c.LapseOffer(app_id), store, ctx) is None
    clock.advance(HOUR)
    lapsed = handlers.lapse_offer(c.LapseOffer(app_id), store, ctx)
    assert lapsed is not None
    assert (lapsed.status, lapsed.reason) == (A.EXPIRED, OFFER_LAPSED)
    assert store.events_of(app_id)[-1] == events.ApplicationExpired(app_id)
    assert store.seats.get("l-1").holders == frozenset()
    with pytest.raises(FailedPrecondition):
        handlers.accept_offer(c.AcceptOffer(STUDENT, app_id, lapsed.version), store, ctx)


@pytest.mark.parametrize("status", [ListingStatus.CLOSED, ListingStatus.EXPIRED])
def test_an_offer_made_while_open_is_accepted_after_the_listing_ended(
    ctx: Context, status: ListingStatus
) -> None:
    store = FakeStore(listing(seats=2))
    waiting = _apply(store, ctx, OTHER_STUDENT)
    app_id = _offer(store, ctx)
    handlers.record_listing(c.RecordListing(listing(status=status, version=9)), store, ctx)
    assert store.applications.stored[waiting].status is A.REJECTED
    assert store.applications.stored[app_id].status is A.OFFERED
    accepted = handlers.accept_offer(c.AcceptOffer(STUDENT, app_id, 2), store, ctx)
    assert accepted.engagement.status is E.ACTIVE


def test_an_offer_on_a_full_listing_waits_for_a_freed_seat(ctx: Context) -> None:
    store = FakeStore(listing(seats=1))
    first = _engage(store, ctx, OTHER_STUDENT)
    app_id = _offer(store, ctx)
    handlers.record_listing(
        c.RecordListing(listing(seats=1, status=ListingStatus.FILLED, version=9)), store, ctx
    )
    with pytest.raises(FailedPrecondition, match="seat"):
        handlers.accept_offer(c.AcceptOffer(STUDENT, app_id, 2), store, ctx)
    cancel = c.CancelEngagement(EMPLOYER, first, _version(store, first), "Budget")
    handlers.cancel_engagement(cancel, store, ctx)
    assert handlers.accept_offer(c.AcceptOffer(STUDENT, app_id, 2), store, ctx).engagement


# ---- 6. the feedback window runs from acceptance --------------------------------------------


def test_feedback_is_refused_after_the_window_that_started_at_acceptance(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    clock.advance(2 * DAY)
    _approve(store, ctx, eng)
    accepted_at = clock.now()
    assert store.engagements.stored[eng].feedback_due == accepted_at + 14 * DAY
    clock.advance(13 * DAY)
    handlers.leave_feedback(c.LeaveFeedback(STUDENT, eng, 5, "Great"), store, ctx)
    clock.advance(DAY)
    with pytest.raises(FailedPrecondition, match="window"):
        handlers.leave_feedback(c.LeaveFeedback(EMPLOYER, eng, 4), store, ctx)
    published = handlers.publish_feedback(c.PublishFeedback(eng), store, ctx)
    assert published is not None
    assert published.feedback_published
    assert [f.author for f in published.visible_feedback(None)] == [Party.STUDENT]
    assert store.events_of(eng)[-1] == events.FeedbackPublished(eng)


def test_a_window_nobody_wrote_in_closes_without_publishing(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    _approve(store, ctx, eng)
    clock.advance(14 * DAY)
    closed = handlers.publish_feedback(c.PublishFeedback(eng), store, ctx)
    assert closed is not None
    assert (closed.feedback_published, closed.feedback_open, closed.wanted_timers()) == (
        False,
        False,
        {},
    )
    assert not any(isinstance(e, events.FeedbackPublished) for e in store.events_of(eng))


# ---- 7. re-applying ----------------------------------------------------------------------------


def test_a_student_reapplies_after_withdrawing_or_an_expiry(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing(application_deadline=NOW + 30 * DAY, due_date=NOW + 40 * DAY))
    first = _apply(store, ctx)
    with pytest.raises(AlreadyExists):
        _apply(store, ctx)
    handlers.withdraw_application(c.WithdrawApplication(STUDENT, first, 1), store, ctx)
    second = _apply(store, ctx)
    clock.advance(7 * DAY)
    assert handlers.expire_application(c.ExpireApplication(second), store, ctx) is not None
    third = _apply(store, ctx)
    handlers.withdraw_application(c.WithdrawApplication(STUDENT, third, 1), store, ctx)
    with pytest.raises(FailedPrecondition, match="more than 3"):
        _apply(store, ctx)


def test_a_student_reapplies_after_a_rejection_by_filling_once_it_reopens(
    ctx: Context,
) -> None:
    store = FakeStore(listing(seats=1))
    first = _apply(store, ctx)
    filled = listing(seats=1, status=ListingStatus.FILLED, version=9)
    handlers.record_listing(c.RecordListing(filled), store, ctx)
    rejected = store.applications.stored[first]
    assert (rejected.status, rejected.reason) == (A.REJECTED, CLOSING_REASONS[filled.status])
    with pytest.raises(FailedPrecondition, match="FILLED"):
        _apply(store, ctx)
    handlers.record_listing(c.RecordListing(listing(seats=1, version=10)), store, ctx)
    assert store.applications.stored[_apply(store, ctx)].status is A.SUBMITTED


def test_no_reapplying_after_the_employer_rejected_or_the_student_declined(
    ctx: Context,
) -> None:
    store = FakeStore(listing())
    rejected = _apply(store, ctx)
    handlers.reject_application(c.RejectApplication(EMPLOYER, rejected, 1, "no"), store, ctx)
    with pytest.raises(FailedPrecondition, match="REJECTED"):
        _apply(store, ctx)
    declined = _offer(store, ctx, OTHER_STUDENT)
    handlers.decline_offer(c.DeclineOffer(OTHER_STUDENT, declined, 2), store, ctx)
    with pytest.raises(FailedPrecondition, match="DECLINED"):
        _apply(store, ctx, OTHER_STUDENT)


# ---- 8. offers from SUBMITTED, feedback with a version --------------------------------------


def test_an_offer_goes_straight_from_submitted(ctx: Context) -> None:
    store = FakeStore(listing())
    app_id = _apply(store, ctx)
    offered = handlers.extend_offer(c.ExtendOffer(EMPLOYER, app_id, 1), store, ctx)
    assert (offered.status, offered.decide_by) == (A.OFFERED, None)
    assert store.events_of(app_id)[-1] == events.OfferExtended(app_id)


def test_leave_feedback_checks_the_expected_version(ctx: Context) -> None:
    store = FakeStore(listing())
    eng = _engage(store, ctx)
    _submit(store, ctx, eng)
    _approve(store, ctx, eng)
    version = _version(store, eng)
    with pytest.raises(ConcurrencyConflict):
        handlers.leave_feedback(c.LeaveFeedback(STUDENT, eng, 5, "", version - 1), store, ctx)
    handlers.leave_feedback(c.LeaveFeedback(STUDENT, eng, 5, "", version), store, ctx)
    handlers.leave_feedback(c.LeaveFeedback(EMPLOYER, eng, 4), store, ctx)
    assert store.engagements.stored[eng].feedback_published


def test_the_new_windows_and_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STINT_APPLICATIONS_OFFER_WINDOW_DAYS", "2")
    monkeypatch.setenv("STINT_APPLICATIONS_REVISION_WINDOW_DAYS", "5")
    monkeypatch.setenv("STINT_APPLICATIONS_MAX_APPLICATIONS_PER_LISTING", "2")
    policy = ApplicationsSettings().policy()
    assert (policy.offer_window, policy.revision_window) == (2 * DAY, 5 * DAY)
    assert policy.max_applications_per_listing == 2
