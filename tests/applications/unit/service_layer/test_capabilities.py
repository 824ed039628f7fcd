"""Issue #8's new capabilities through the use cases: message threads, reputation, invitations,
list orders and "needs my action", and the key ring that verifies completion records."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stint.applications.v1 import events_pb2
from stint_applications.adapters import contracts
from stint_applications.adapters.signing import CompletionSigner, KeyRing
from stint_applications.domain import commands as c
from stint_applications.domain.application import ApplicationStatus
from stint_applications.domain.engagement import EngagementStatus, Party
from stint_applications.domain.queries import ListOrder
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Context
from stint_runtime.clock import ManualClock
from stint_runtime.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from tests.applications.builders import (
    ADMIN,
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


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def ctx(clock: ManualClock) -> Context:
    ids = itertools.count(1)
    return Context(clock=clock, new_id=lambda: f"id-{next(ids)}")


def _apply(store: FakeStore, ctx: Context, student: c.Actor = STUDENT, lid: str = "l-1") -> str:
    return handlers.apply(c.Apply(student, lid, "Hi", ANSWERS), store, ctx).id


def _completed(store: FakeStore, ctx: Context, student: c.Actor = STUDENT) -> str:
    """An engagement on l-1 whose work the employer approved, with both ratings published."""
    app_id = _apply(store, ctx, student)
    handlers.extend_offer(c.ExtendOffer(EMPLOYER, app_id, 1), store, ctx)
    eng = handlers.accept_offer(c.AcceptOffer(student, app_id, 2), store, ctx).engagement.id
    handlers.submit_deliverable(
        c.SubmitDeliverable(student, eng, 1, "Done", (), checklist()), store, ctx
    )
    handlers.approve_deliverable(c.ApproveDeliverable(EMPLOYER, eng, 2), store, ctx)
    handlers.leave_feedback(c.LeaveFeedback(EMPLOYER, eng, 4, "Solid"), store, ctx)
    handlers.leave_feedback(c.LeaveFeedback(student, eng, 5, "Kind"), store, ctx)
    return eng


# ---- messages ----------------------------------------------------------------------------------


def test_both_parties_write_in_a_thread_that_admins_read_newest_first(ctx: Context) -> None:
    store = FakeStore(listing())
    app_id = _apply(store, ctx)
    handlers.post_message(c.PostMessage(STUDENT, "When do we start?", app_id), store, ctx)
    posted = handlers.post_message(
        c.PostMessage(EMPLOYER, "Monday", app_id, links=("https://example.org/brief",)),
        store,
        ctx,
    )
    assert (posted.author, posted.author_id) == (Party.EMPLOYER, EMPLOYER.subject)
    for reader in (STUDENT, EMPLOYER, ADMIN):
        page = handlers.list_messages(c.ListMessages(reader, app_id), store, ctx)
        assert [m.text for m in page.items] == ["Monday", "When do we start?"]
    first = handlers.list_messages(c.ListMessages(ADMIN, app_id, page_size=1), store, ctx)
    assert (len(first.items), bool(first.next_page_token)) == (1, True)


@pytest.mark.parametrize("outsider", [OTHER_STUDENT, OTHER_EMPLOYER])
def test_outsiders_neither_read_nor_write_a_thread(ctx: Context, outsider: c.Actor) -> None:
    store = FakeStore(listing())
    app_id = _apply(store, ctx)
    with pytest.raises(NotFound):
        handlers.list_messages(c.ListMessages(outsider, app_id), store, ctx)
    with pytest.raises(NotFound):
        handlers.post_message(c.PostMessage(outsider, "Hello", app_id), store, ctx)
    with pytest.raises(PermissionDenied):
        handlers.post_message(c.PostMessage(ADMIN, "Hello", app_id), store, ctx)


def test_a_message_is_at_most_4000_characters_in_exactly_one_thread(ctx: Context) -> None:
    store = FakeStore(listing())
    app_id = _apply(store, ctx)
    with pytest.raises(InvalidArgument) as refused:
        handlers.post_message(c.PostMessage(STUDENT, "x" * 4001, app_id), store, ctx)
    assert refused.value.field == "text"
    handlers.post_message(c.PostMessage(STUDENT, "x" * 4000, app_id), store, ctx)
    with pytest.raises(InvalidArgument):
        handlers.post_message(c.PostMessage(STUDENT, "Hi", app_id, "e-1"), store, ctx)
    with pytest.raises(InvalidArgument):
        handlers.post_message(c.PostMessage(STUDENT, "Hi"), store, ctx)


def test_application_and_engagement_threads_are_separate(ctx: Context) -> None:
    store = FakeStore(listing())
    eng = _completed(store, ctx)
    app_id = store.engagements.stored[eng].application_id
    handlers.post_message(c.PostMessage(STUDENT, "About the offer", app_id), store, ctx)
    handlers.post_message(c.PostMessage(STUDENT, "About the work", engagement_id=eng), store, ctx)
    on_engagement = handlers.list_messages(c.ListMessages(EMPLOYER, engagement_id=eng), store, ctx)
    assert [m.text for m in on_engagement.items] == ["About the work"]


def test_message_posted_carries_who_and_where_but_never_the_text(ctx: Context) -> None:
    store = FakeStore(listing())
    app_id = _apply(store, ctx)
    message = handlers.post_message(
        c.PostMessage(STUDENT, "secret plans", app_id, links=("https://example.org/x",)),
        store,
        ctx,
    )
    event = contracts.message_posted(message)
    assert isinstance(event, events_pb2.MessagePosted)
    assert (event.application_id, event.student_id, event.employer_org_id) == (
        app_id,
        STUDENT.subject,
        "org-a",
    )
    assert b"secret plans" not in event.SerializeToString()
    assert b"example.org" not in event.SerializeToString()


# ---- reputation --------------------------------------------------------------------------------


def test_a_student_profile_travels_to_employers_the_student_applied_to(ctx: Context) -> None:
    store = FakeStore(listing(), listing("l-2", employer_org_id="org-b"))
    _completed(store, ctx)
    profile = handlers.get_student_profile(
        c.GetStudentProfile(EMPLOYER, STUDENT.subject), store, ctx
    )
    assert profile.summary.completed_engagements == 1
    assert profile.summary.on_time_percent == 100
    assert (profile.summary.ratings, profile.summary.average_rating_x100) == (1, 400)
    assert profile.skills_demonstrated == ("react", "typescript")
    with pytest.raises(NotFound):
        handlers.get_student_profile(
            c.GetStudentProfile(OTHER_EMPLOYER, STUDENT.subject), store, ctx
        )
    _apply(store, ctx, STUDENT, "l-2")
    handlers.get_student_profile(c.GetStudentProfile(OTHER_EMPLOYER, STUDENT.subject), store, ctx)
    with pytest.raises(NotFound):
        handlers.get_student_profile(
            c.GetStudentProfile(OTHER_STUDENT, STUDENT.subject), store, ctx
        )


def test_each_side_sees_the_other_sides_record(ctx: Context) -> None:
    store = FakeStore(listing())
    _completed(store, ctx)
    query = c.Reputations(EMPLOYER, frozenset({STUDENT.subject}), frozenset({"org-a"}))
    for_employer = handlers.reputations(query, store, ctx)
    assert (set(for_employer.students), for_employer.employers) == ({STUDENT.subject}, {})
    query = c.Reputations(STUDENT, frozenset({STUDENT.subject}), frozenset({"org-a"}))
    for_student = handlers.reputations(query, store, ctx)
    record = for_student.employers["org-a"]
    assert for_student.students == {}
    assert (record.ratings, record.average_rating_x100, record.disputes) == (1, 500, 0)
    assert (record.accepted_submissions, record.on_time_approval_percent) == (1, 100)


# ---- invitations -------------------------------------------------------------------------------


def test_an_invited_student_applies_straight_into_the_shortlist(ctx: Context) -> None:
    store = FakeStore(listing(), listing("l-2"))
    _completed(store, ctx)
    invitation = handlers.invite_student(
        c.InviteStudent(EMPLOYER, "l-2", STUDENT.subject), store, ctx
    )
    assert (invitation.listing_id, invitation.invited_by) == ("l-2", EMPLOYER.subject)
    with pytest.raises(AlreadyExists):
        handlers.invite_student(c.InviteStudent(EMPLOYER, "l-2", STUDENT.subject), store, ctx)
    applied = handlers.apply(c.Apply(STUDENT, "l-2", "Happy to", ANSWERS), store, ctx)
    assert (applied.status, applied.invited) == (A.SHORTLISTED, True)
    assert applied.wanted_timers()  # the employer's response time runs


def test_an_invitation_lets_a_student_apply_again_after_a_final_ending(ctx: Context) -> None:
    store = FakeStore(listing(), listing("l-2"))
    _completed(store, ctx)
    turned_down = _apply(store, ctx, STUDENT, "l-2")
    handlers.reject_application(
        c.RejectApplication(EMPLOYER, turned_down, 1, "not now"), store, ctx
    )
    with pytest.raises(FailedPrecondition, match="REJECTED"):
        _apply(store, ctx, STUDENT, "l-2")
    handlers.invite_student(c.InviteStudent(EMPLOYER, "l-2", STUDENT.subject), store, ctx)
    again = handlers.apply(c.Apply(STUDENT, "l-2", "Thanks", ANSWERS), store, ctx)
    assert (again.status, again.invited) == (A.SHORTLISTED, True)


def test_only_students_who_completed_work_for_the_org_are_invited(ctx: Context) -> None:
    store = FakeStore(listing(), listing("l-2"), listing("l-3", employer_org_id="org-b"))
    with pytest.raises(FailedPrecondition, match="completed"):
        handlers.invite_student(c.InviteStudent(EMPLOYER, "l-2", STUDENT.subject), store, ctx)
    _completed(store, ctx)
    with pytest.raises(NotFound):
        handlers.invite_student(c.InviteStudent(EMPLOYER, "l-3", STUDENT.subject), store, ctx)


# ---- lists -------------------------------------------------------------------------------------


def test_lists_order_by_the_soonest_deadline_and_filter_what_needs_me(
    clock: ManualClock, ctx: Context
) -> None:
    store = FakeStore(listing(seats=3))
    late = _apply(store, ctx, STUDENT)
    clock.advance(timedelta(hours=1))
    offered = _apply(store, ctx, OTHER_STUDENT)
    handlers.extend_offer(c.ExtendOffer(EMPLOYER, offered, 1), store, ctx)
    soonest = handlers.list_applications(
        c.ListApplications(EMPLOYER, order=ListOrder.DEADLINE_SOONEST), store, ctx
    )
    # The offer lapses in 3 days, the other application's response time in 7.
    assert [a.id for a in soonest.items] == [offered, late]
    mine = handlers.list_applications(
        c.ListApplications(EMPLOYER, needs_my_action=True), store, ctx
    )
    assert [a.id for a in mine.items] == [late]
    theirs = handlers.list_applications(
        c.ListApplications(OTHER_STUDENT, needs_my_action=True), store, ctx
    )
    assert [a.id for a in theirs.items] == [offered]
    nothing = handlers.list_applications(
        c.ListApplications(EMPLOYER, statuses=frozenset({A.OFFERED}), needs_my_action=True),
        store,
        ctx,
    )
    assert nothing.items == []
    clock.advance(DAY)
    accepted = handlers.accept_offer(c.AcceptOffer(OTHER_STUDENT, offered, 2), store, ctx)
    todo = handlers.list_engagements(
        c.ListEngagements(OTHER_STUDENT, needs_my_action=True), store, ctx
    )
    assert [e.id for e in todo.items] == [accepted.engagement.id]
    assert (
        handlers.list_engagements(
            c.ListEngagements(EMPLOYER, needs_my_action=True), store, ctx
        ).items
        == []
    )


# ---- completion records ----------------------------------------------------------------------


def test_the_key_ring_lists_rotated_keys_and_says_why_a_record_fails(ctx: Context) -> None:
    store = FakeStore(listing())
    eng = _completed(store, ctx)
    old = CompletionSigner(Ed25519PrivateKey.generate())
    record = old.sign(
        handlers.get_completion_record(c.GetCompletionRecord(STUDENT, eng), store, ctx)
    )
    new = CompletionSigner(Ed25519PrivateKey.generate())
    assert KeyRing(new).check(record) == "unknown signing key"
    ring = KeyRing(new, [old.public_key])
    assert [(k.key_id, k.active) for k in ring.listed()] == [
        (new.key_id, True),
        (old.key_id, False),
    ]
    assert ring.check(record) == ""
    record.claim.payout_percent = 1
    assert ring.check(record) == "the claim differs from the signed claim"
    record.signature = bytes(64)
    assert ring.check(record) == "signature does not match the signed claim"


def test_a_record_is_found_by_its_own_id_by_the_parties(ctx: Context) -> None:
    store = FakeStore(listing())
    eng = _completed(store, ctx)
    record_id = store.engagements.stored[eng].completion_record_id
    by_engagement = handlers.get_completion_record(c.GetCompletionRecord(STUDENT, eng), store, ctx)
    by_id = handlers.get_completion_record(
        c.GetCompletionRecord(EMPLOYER, record_id=record_id), store, ctx
    )
    assert by_id == by_engagement
    assert by_id.outcome.value == "APPROVED"
    with pytest.raises(NotFound):
        handlers.get_completion_record(
            c.GetCompletionRecord(OTHER_STUDENT, record_id=record_id), store, ctx
        )
    with pytest.raises(InvalidArgument):
        handlers.get_completion_record(c.GetCompletionRecord(STUDENT), store, ctx)
