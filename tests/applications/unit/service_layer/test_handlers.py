"""Use cases over in-memory repositories: authorization, versions, seats, events, consumers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from stint_applications.domain import commands as c
from stint_applications.domain import events
from stint_applications.domain.application import ApplicationStatus
from stint_applications.domain.engagement import CriterionCheck, EngagementStatus
from stint_applications.domain.listing import ListingStatus
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Context, handle
from stint_runtime.clock import ManualClock
from stint_runtime.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from tests.applications.builders import (
    ADMIN,
    ANONYMOUS,
    ANSWERS,
    DAY,
    EMPLOYER,
    NOW,
    OTHER_EMPLOYER,
    OTHER_STUDENT,
    STUDENT,
    checklist,
    listing,
)
from tests.applications.unit.fakes import FakeStore

A = ApplicationStatus
E = EngagementStatus
ACTORS = {
    "student": STUDENT,
    "other_student": OTHER_STUDENT,
    "employer": EMPLOYER,
    "other_employer": OTHER_EMPLOYER,
    "admin": ADMIN,
    "anonymous": ANONYMOUS,
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def ctx(clock: ManualClock) -> Context:
    ids = itertools.count(1)
    return Context(clock=clock, new_id=lambda: f"id-{next(ids)}")


def _store(**changes: Any) -> FakeStore:
    return FakeStore(listing(**changes))


def _apply(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    app = handlers.apply(c.Apply(student, "l-1", "Hi", ANSWERS), store, ctx)
    return app.id


def _offer(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    app_id = _apply(store, ctx, student)
    handlers.shortlist_application(c.ShortlistApplication(EMPLOYER, app_id, 1), store, ctx)
    handlers.extend_offer(c.ExtendOffer(EMPLOYER, app_id, 2), store, ctx)
    return app_id


def _engage(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    app_id = _offer(store, ctx, student)
    return handlers.accept_offer(c.AcceptOffer(student, app_id, 3), store, ctx).engagement.id


def test_an_application_through_to_a_paid_engagement(ctx: Context, clock: ManualClock) -> None:
    store = _store()
    app_id = _offer(store, ctx)
    accepted = handle(c.AcceptOffer(STUDENT, app_id, 3), store, ctx)
    assert isinstance(accepted, handlers.Accepted)
    eng = accepted.engagement.id
    assert (accepted.application.status, accepted.application.engagement_id) == (A.ACCEPTED, eng)
    assert store.seats.get("l-1").holders == frozenset({eng})
    handle(
        c.SubmitDeliverable(STUDENT, eng, 1, "Done", ("https://x.org/1",), checklist=checklist()),
        store,
        ctx,
    )
    handle(c.RequestRevision(EMPLOYER, eng, 2, "Add tests"), store, ctx)
    handle(c.SubmitDeliverable(STUDENT, eng, 3, "Done again", checklist=checklist()), store, ctx)
    handle(c.ApproveDeliverable(EMPLOYER, eng, 4), store, ctx)
    handle(c.RecordPayoutPaid(eng), store, ctx)
    handle(c.LeaveFeedback(STUDENT, eng, 5, "Great"), store, ctx)
    handle(c.LeaveFeedback(EMPLOYER, eng, 4, "Good"), store, ctx)
    claim = handle(c.GetCompletionRecord(STUDENT, eng), store, ctx)
    assert getattr(claim, "engagement_id", None) == eng

    assert [(type(e).__name__, v) for _, e, v in store.journal.events] == [
        ("ApplicationSubmitted", 1),
        ("ApplicationShortlisted", 2),
        ("OfferExtended", 3),
        ("OfferAccepted", 4),
        ("EngagementStarted", 1),
        ("DeliverableSubmitted", 2),
        ("RevisionRequested", 3),
        ("DeliverableSubmitted", 4),
        ("DeliverableApproved", 5),
        ("EngagementCompleted", 6),
        ("FeedbackPublished", 8),
    ]


def test_applying_rules(ctx: Context) -> None:
    store = _store()
    _apply(store, ctx)
    with pytest.raises(AlreadyExists):
        _apply(store, ctx)
    with pytest.raises(PermissionDenied):
        _apply(store, ctx, EMPLOYER)
    with pytest.raises(NotFound):
        handlers.apply(c.Apply(STUDENT, "l-unknown", "", ANSWERS), store, ctx)
    with pytest.raises(InvalidArgument, match="portfolio"):
        handlers.apply(c.Apply(OTHER_STUDENT, "l-1", "", ()), store, ctx)


@pytest.mark.parametrize("status", [ListingStatus.DRAFT, ListingStatus.PENDING_REVIEW])
def test_an_unlisted_listing_is_not_found(ctx: Context, status: ListingStatus) -> None:
    with pytest.raises(NotFound):
        _apply(_store(status=status), ctx)


def test_a_stale_version_conflicts(ctx: Context) -> None:
    store = _store()
    app_id = _apply(store, ctx)
    with pytest.raises(ConcurrencyConflict, match="version 1"):
        handlers.shortlist_application(c.ShortlistApplication(EMPLOYER, app_id, 2), store, ctx)


APPLICATION_COMMANDS: dict[str, tuple[Callable[[c.Actor, str], Any], str]] = {
    # name: (command for actor and application id, the only role allowed)
    "withdraw": (lambda a, i: c.WithdrawApplication(a, i, 1), "student"),
    "shortlist": (lambda a, i: c.ShortlistApplication(a, i, 1), "employer"),
    "reject": (lambda a, i: c.RejectApplication(a, i, 1, "no"), "employer"),
    "get": (lambda a, i: c.GetApplication(a, i), "any"),
}


@pytest.mark.parametrize("command", list(APPLICATION_COMMANDS))
@pytest.mark.parametrize("actor", list(ACTORS))
def test_application_authorization(ctx: Context, command: str, actor: str) -> None:
    store = _store()
    app_id = _apply(store, ctx)
    build, allowed = APPLICATION_COMMANDS[command]
    outcome = _outcome(lambda: handle(build(ACTORS[actor], app_id), store, ctx))
    if actor in {"other_student", "other_employer", "anonymous"}:
        assert outcome is NotFound
    elif allowed in {"any", actor}:
        assert outcome is None
    else:
        assert outcome is PermissionDenied


ENGAGEMENT_COMMANDS: dict[str, tuple[Callable[[c.Actor, str], Any], set[str]]] = {
    "submit": (
        lambda a, i: c.SubmitDeliverable(a, i, 1, "Done", checklist=checklist()),
        {"student"},
    ),
    "cancel": (lambda a, i: c.CancelEngagement(a, i, 1, "Budget"), {"employer"}),
    "get": (lambda a, i: c.GetEngagement(a, i), {"student", "employer", "admin"}),
    "feedback": (lambda a, i: c.LeaveFeedback(a, i, 5), {"student", "employer"}),
    "resolve": (lambda a, i: c.ResolveDispute(a, i, 1, 50, "Split"), {"admin"}),
    "record": (lambda a, i: c.GetCompletionRecord(a, i), {"student", "employer", "admin"}),
}


def _outcome(call: Callable[[], object]) -> type[DomainError] | None:
    try:
        call()
    except (NotFound, PermissionDenied) as refused:
        return type(refused)
    except FailedPrecondition:
        return None  # authorized; the state refused it
    return None


@pytest.mark.parametrize("command", list(ENGAGEMENT_COMMANDS))
@pytest.mark.parametrize("actor", list(ACTORS))
def test_engagement_authorization(ctx: Context, command: str, actor: str) -> None:
    store = _store()
    eng = _engage(store, ctx)
    build, allowed = ENGAGEMENT_COMMANDS[command]
    outcome = _outcome(lambda: handle(build(ACTORS[actor], eng), store, ctx))
    if actor in {"other_student", "other_employer", "anonymous"}:
        assert outcome is NotFound
    elif actor in allowed:
        assert outcome is None
    else:
        assert outcome is PermissionDenied


def test_the_last_seat_goes_to_the_first_acceptance(ctx: Context) -> None:
    store = _store(seats=1)
    first, second = _offer(store, ctx), _offer(store, ctx, OTHER_STUDENT)
    handlers.accept_offer(c.AcceptOffer(STUDENT, first, 3), store, ctx)
    with pytest.raises(FailedPrecondition, match="1 seat"):
        handlers.accept_offer(c.AcceptOffer(OTHER_STUDENT, second, 3), store, ctx)
    assert store.applications.stored[second].status is A.OFFERED
    assert len(store.engagements.stored) == 1


@pytest.mark.parametrize(
    "status",
    # Only a cancellation: an offer outlives a close, expiry or filling (test_offers.py).
    [ListingStatus.CANCELLED],
)
def test_an_offer_cannot_be_accepted_once_the_listing_stopped_taking_seats(
    ctx: Context, status: ListingStatus
) -> None:
    """The race: the snapshot has moved on, the offer's rejection has not landed yet."""
    store = _store(seats=2)
    app_id = _offer(store, ctx)
    store.listings.put(listing(seats=2, status=status, version=5))
    with pytest.raises(FailedPrecondition, match=f"listing that is {status.value}"):
        handlers.accept_offer(c.AcceptOffer(STUDENT, app_id, 3), store, ctx)
    assert store.applications.stored[app_id].status is A.OFFERED
    assert store.engagements.stored == {}
    assert store.seats.get("l-1").holders == frozenset()
    assert events.OfferAccepted not in {type(event) for event in store.events_of(app_id)}


def test_cancelling_frees_the_seat(ctx: Context) -> None:
    store = _store(seats=1)
    eng = _engage(store, ctx)
    handlers.cancel_engagement(c.CancelEngagement(EMPLOYER, eng, 1, "Budget"), store, ctx)
    assert store.seats.get("l-1").holders == frozenset()
    assert store.events_of(eng)[-1] == events.EngagementCancelled(eng, "Budget")
    _engage(store, ctx, OTHER_STUDENT)


@pytest.mark.parametrize(
    "status", [ListingStatus.CLOSED, ListingStatus.CANCELLED, ListingStatus.FILLED]
)
def test_a_closing_listing_rejects_its_undecided_applications(
    ctx: Context, status: ListingStatus
) -> None:
    store = _store(seats=3)
    submitted = _apply(store, ctx, c.Actor("stu-3", "student"))
    offered = _offer(store, ctx, OTHER_STUDENT)
    _engage(store, ctx)
    assert handlers.record_listing(c.RecordListing(listing(status=status, version=9)), store, ctx)
    statuses = {a.id: a.status for a in store.applications.stored.values()}
    # An offer outlives a close or filling; a cancellation withdraws it.
    offer_after = A.REJECTED if status is ListingStatus.CANCELLED else A.OFFERED
    assert (statuses[submitted], statuses[offered]) == (A.REJECTED, offer_after)
    assert A.ACCEPTED in statuses.values()
    rejected = store.events_of(submitted)[-1]
    assert isinstance(rejected, events.ApplicationRejected)
    assert status.value.lower() in rejected.reason or "filled" in rejected.reason


def test_an_older_listing_event_is_ignored(ctx: Context) -> None:
    store = _store()
    assert not handlers.record_listing(
        c.RecordListing(listing(status=ListingStatus.CLOSED, version=3)), store, ctx
    )
    assert store.listings.stored["l-1"].status is ListingStatus.PUBLISHED


def test_a_new_listing_gets_its_seats(ctx: Context) -> None:
    store = FakeStore()
    handlers.record_listing(c.RecordListing(listing()), store, ctx)
    assert store.seats.stored["l-1"].version == 1


def test_payout_paid_completes_once(ctx: Context) -> None:
    store = _store()
    eng = _engage(store, ctx)
    assert handlers.record_payout_paid(c.RecordPayoutPaid(eng), store, ctx) is None
    handlers.submit_deliverable(
        c.SubmitDeliverable(STUDENT, eng, 1, "Done", checklist=checklist()), store, ctx
    )
    handlers.approve_deliverable(c.ApproveDeliverable(EMPLOYER, eng, 2), store, ctx)
    handlers.record_payout_paid(c.RecordPayoutPaid(eng), store, ctx)
    handlers.record_payout_paid(c.RecordPayoutPaid(eng), store, ctx)
    assert store.engagements.stored[eng].status is E.PAID
    assert [type(e).__name__ for e in store.events_of(eng)].count("EngagementCompleted") == 1


def test_timers_do_nothing_once_their_state_is_left(ctx: Context, clock: ManualClock) -> None:
    store = _store()
    app_id = _apply(store, ctx)
    handlers.reject_application(c.RejectApplication(EMPLOYER, app_id, 1, "no"), store, ctx)
    clock.advance(30 * DAY)
    assert handlers.expire_application(c.ExpireApplication(app_id), store, ctx) is None
    assert handlers.auto_approve(c.AutoApprove("nope"), store, ctx) is None


def test_timers_fire_when_due(ctx: Context, clock: ManualClock) -> None:
    store = _store(seats=2)
    app_id = _apply(store, ctx)
    eng = _engage(store, ctx, OTHER_STUDENT)
    clock.advance(7 * DAY)
    expired = handlers.expire_application(c.ExpireApplication(app_id), store, ctx)
    assert expired is not None
    assert expired.status is A.EXPIRED
    clock.advance(30 * DAY)
    ended = handlers.expire_engagement(c.ExpireEngagement(eng), store, ctx)
    assert ended is not None
    assert ended.status is E.EXPIRED
    assert store.seats.get("l-1").holders == frozenset()


def test_lists_show_only_what_the_caller_may_see(ctx: Context) -> None:
    store = _store()
    _apply(store, ctx)
    _apply(store, ctx, OTHER_STUDENT)
    mine = handlers.list_applications(c.ListApplications(STUDENT), store, ctx)
    assert [a.student_id for a in mine.items] == [STUDENT.subject]
    assert handlers.list_applications(c.ListApplications(OTHER_EMPLOYER), store, ctx).items == []
    assert len(handlers.list_applications(c.ListApplications(EMPLOYER), store, ctx).items) == 2
    page = handlers.list_applications(c.ListApplications(ADMIN, page_size=1), store, ctx)
    assert (len(page.items), bool(page.next_page_token)) == (1, True)
    with pytest.raises(PermissionDenied):
        handlers.list_applications(c.ListApplications(STUDENT, student_id="stu-2"), store, ctx)
    with pytest.raises(InvalidArgument, match="page_size"):
        handlers.list_engagements(c.ListEngagements(ADMIN, page_size=101), store, ctx)


def test_a_listing_edit_after_the_start_does_not_change_the_agreed_criteria(ctx: Context) -> None:
    store = _store()
    eng = _engage(store, ctx)
    edited = listing(version=5, acceptance_criteria=("Ships a mobile app",))
    assert handlers.record_listing(c.RecordListing(edited), store, ctx)
    assert store.listings.stored["l-1"].acceptance_criteria == ("Ships a mobile app",)
    new_terms = (CriterionCheck("Ships a mobile app", True),)
    with pytest.raises(InvalidArgument, match="unknown acceptance criterion") as refused:
        handlers.submit_deliverable(
            c.SubmitDeliverable(STUDENT, eng, 1, "Done", checklist=new_terms), store, ctx
        )
    assert refused.value.field == "checklist"
    submitted = handlers.submit_deliverable(
        c.SubmitDeliverable(STUDENT, eng, 1, "Done", checklist=checklist(met=False)), store, ctx
    )
    assert submitted.submissions[0].checklist == checklist(met=False)
