"""The engagement lifecycle: transitions, revision limit, timers, disputes, feedback, claims."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stint_applications.domain import events
from stint_applications.domain.engagement import (
    AUTO_APPROVE_TIMER,
    EXPIRE_TIMER,
    PUBLISH_FEEDBACK_TIMER,
    REVISION_LAPSE_TIMER,
    CriterionCheck,
    Engagement,
    EngagementStatus,
    Party,
)
from stint_runtime.errors import FailedPrecondition, InvalidArgument

from tests.applications.builders import (
    CRITERIA,
    DAY,
    NOW,
    POLICY,
    checklist,
    engagement,
    submitted,
)

E = EngagementStatus
LATER = NOW + DAY
FAR = NOW + 60 * DAY


Action = Callable[[Engagement], object]
ACTIONS: dict[str, tuple[Action, frozenset[EngagementStatus], EngagementStatus, type]] = {
    "submit": (
        lambda e: e.submit("Done", (), checklist(), POLICY, LATER),
        frozenset({E.ACTIVE, E.REVISION_REQUESTED}),
        E.SUBMITTED,
        events.DeliverableSubmitted,
    ),
    "request_revision": (
        lambda e: e.request_revision("More tests", LATER),
        frozenset({E.SUBMITTED}),
        E.REVISION_REQUESTED,
        events.RevisionRequested,
    ),
    "approve": (
        lambda e: e.approve(LATER),
        frozenset({E.SUBMITTED}),
        E.APPROVED,
        events.DeliverableApproved,
    ),
    "auto_approve": (
        lambda e: e.auto_approve(FAR),
        frozenset({E.SUBMITTED}),
        E.AUTO_APPROVED,
        events.DeliverableApproved,
    ),
    "cancel": (
        lambda e: e.cancel("Budget cut", LATER),
        frozenset({E.ACTIVE}),
        E.CANCELLED,
        events.EngagementCancelled,
    ),
    "expire": (
        lambda e: e.expire(FAR),
        frozenset({E.ACTIVE}),
        E.EXPIRED,
        events.EngagementExpired,
    ),
    "open_dispute": (
        lambda e: e.open_dispute(Party.STUDENT, "stu-1", "No answer", LATER),
        frozenset({E.SUBMITTED, E.REVISION_REQUESTED}),
        E.DISPUTED,
        events.DisputeOpened,
    ),
    "resolve_dispute": (
        lambda e: e.resolve_dispute("adm-1", 50, "Half done", LATER),
        frozenset({E.DISPUTED}),
        E.RESOLVED,
        events.DisputeResolved,
    ),
    "mark_paid": (
        lambda e: e.mark_paid("cr-1", LATER),
        frozenset({E.APPROVED, E.AUTO_APPROVED, E.RESOLVED}),
        E.PAID,
        events.EngagementCompleted,
    ),
}
CASES = [(name, status) for name in ACTIONS for status in E if status is not E.PAID]


def in_state(status: EngagementStatus) -> Engagement:
    e = submitted() if status is not E.ACTIVE else engagement()
    e.status = status
    e.deadline = NOW + 10 * DAY
    if status is E.DISPUTED:
        e.status = E.SUBMITTED
        e.open_dispute(Party.STUDENT, "stu-1", "x", NOW)
        e.events.clear()
    return e


@pytest.mark.parametrize(("action", "status"), CASES)
def test_each_action_moves_only_from_its_states(action: str, status: EngagementStatus) -> None:
    act, allowed, result, event_type = ACTIONS[action]
    e = in_state(status)
    if status in allowed:
        act(e)
        assert e.status is result
        assert [type(ev) for ev in e.events] == [event_type]
    else:
        with pytest.raises(FailedPrecondition, match=status.value):
            act(e)
        assert (e.status, e.events) == (status, [])


def test_a_paid_engagement_ignores_a_second_payment() -> None:
    e = submitted()
    e.approve(NOW, "cr-1")
    assert e.mark_paid("cr-other", LATER)
    assert not e.mark_paid("cr-2", LATER)
    assert (e.completion_record_id, len(e.events)) == ("cr-1", 2)


def test_starting_copies_the_listing_terms_and_arms_the_expiry() -> None:
    e = engagement()
    assert (e.fee.amount_minor, e.revision_limit, e.revisions_remaining) == (20_000, 2, 2)
    assert e.wanted_timers() == {EXPIRE_TIMER: NOW + 23 * DAY}  # due date + 3 days grace


def test_auto_approval_restarts_at_each_submission() -> None:
    e = engagement()
    e.submit("v1", (), checklist(), POLICY, NOW + DAY)
    assert e.wanted_timers() == {AUTO_APPROVE_TIMER: NOW + 8 * DAY}
    e.request_revision("More", NOW + 2 * DAY)
    assert e.wanted_timers() == {REVISION_LAPSE_TIMER: NOW + 9 * DAY}
    e.submit("v2", (), checklist(), POLICY, NOW + 5 * DAY)
    assert e.wanted_timers() == {AUTO_APPROVE_TIMER: NOW + 12 * DAY}
    with pytest.raises(FailedPrecondition, match="review time"):
        e.auto_approve(NOW + 8 * DAY)
    e.auto_approve(NOW + 12 * DAY)
    assert (e.status, e.payout_percent) == (E.AUTO_APPROVED, 100)
    assert e.wanted_timers() == {PUBLISH_FEEDBACK_TIMER: NOW + 26 * DAY}
    assert e.events[-1] == events.DeliverableApproved("e-1", auto_approved=True)


def test_an_engagement_expires_only_after_due_date_and_grace() -> None:
    e = engagement()
    with pytest.raises(FailedPrecondition, match="grace"):
        e.expire(NOW + 22 * DAY)
    e.expire(NOW + 23 * DAY)
    assert e.status is E.EXPIRED


def test_revisions_stop_at_the_limit() -> None:
    e = engagement()
    for round_ in range(POLICY.revision_limit):
        e.submit(f"v{round_}", (), checklist(), POLICY, NOW)
        e.request_revision("again", NOW)
    e.submit("last", (), checklist(), POLICY, NOW)
    assert e.revisions_remaining == 0
    with pytest.raises(FailedPrecondition, match="revision requests are used"):
        e.request_revision("once more", NOW)
    assert [r.submission_number for r in e.revisions] == [1, 2]


def test_the_employer_disputes_only_once_revisions_are_used_up() -> None:
    e = submitted()
    with pytest.raises(FailedPrecondition, match="revision requests remain"):
        e.open_dispute(Party.EMPLOYER, "emp-a", "Not what we asked", NOW)
    e.revision_limit = 0
    e.open_dispute(Party.EMPLOYER, "emp-a", "Not what we asked", NOW)
    assert e.status is E.DISPUTED


def test_a_resolution_sets_the_payout_share() -> None:
    e = submitted()
    e.open_dispute(Party.STUDENT, "stu-1", "Silent employer", NOW)
    with pytest.raises(InvalidArgument, match="payout_percent"):
        e.resolve_dispute("adm-1", 101, "x", NOW)
    e.resolve_dispute("adm-1", 40, "Partly done", NOW)
    assert (e.status, e.payout_percent, e.dispute and e.dispute.resolved_by_user_id) == (
        E.RESOLVED,
        40,
        "adm-1",
    )


@pytest.mark.parametrize(
    ("note", "links", "field"),
    [(" ", (), "note"), ("ok", ("ftp://x",), "links[0]"), ("ok", ("https://x",) * 21, "links")],
)
def test_a_submission_needs_a_note_and_web_links(
    note: str, links: tuple[str, ...], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        engagement().submit(note, links, checklist(), POLICY, NOW)
    assert refused.value.field == field


def _check(criterion: str, met: bool = True) -> CriterionCheck:
    return CriterionCheck(criterion, met)


@pytest.mark.parametrize(
    ("checks", "named"),
    [
        ((), "no check for the acceptance criteria 'Shows revenue per month', 'Loads in under"),
        (
            tuple(_check(c) for c in CRITERIA[:2]),
            "no check for the acceptance criteria 'Has unit tests'$",
        ),
        (
            (*checklist(), _check("Has a dark mode")),
            "unknown acceptance criterion 'Has a dark mode'",
        ),
        ((*checklist(), _check(CRITERIA[1], False)), "'Loads in under 2 seconds' twice"),
        (
            (*(_check(c) for c in CRITERIA[:2]), _check(CRITERIA[2].lower())),
            "unknown acceptance criterion 'has unit tests'",
        ),
    ],
    ids=["empty", "missing", "extra", "duplicate", "inexact-text"],
)
def test_a_submission_checks_exactly_the_agreed_criteria(
    checks: tuple[CriterionCheck, ...], named: str
) -> None:
    e = engagement()
    with pytest.raises(InvalidArgument, match=named) as refused:
        e.submit("Done", (), checks, POLICY, NOW)
    assert refused.value.field == "checklist"
    assert (e.status, e.submissions, e.events) == (E.ACTIVE, (), [])


@pytest.mark.parametrize("met", [True, False])
def test_a_full_checklist_is_kept_in_the_criteria_order_met_or_not(met: bool) -> None:
    e = engagement()
    e.submit("Done", (), tuple(reversed(checklist(met))), POLICY, NOW)
    assert e.status is E.SUBMITTED
    assert e.submissions[0].checklist == checklist(met)


def test_a_check_comment_has_a_length_limit() -> None:
    too_long = (CriterionCheck(CRITERIA[0], True, "x" * 2001), *checklist()[1:])
    with pytest.raises(InvalidArgument) as refused:
        engagement().submit("Done", (), too_long, POLICY, NOW)
    assert refused.value.field == "checklist[0].comment"


def test_an_engagement_starts_with_the_listings_criteria() -> None:
    assert engagement().acceptance_criteria == CRITERIA


def test_without_criteria_only_an_empty_checklist_passes() -> None:
    e = engagement()
    e.acceptance_criteria = ()
    with pytest.raises(InvalidArgument, match="unknown"):
        e.submit("Done", (), checklist(), POLICY, NOW)
    e.submit("Done", (), (), POLICY, NOW)
    assert e.submissions[0].checklist == ()


def _approved() -> Engagement:
    e = submitted()
    e.approve(NOW)
    e.events.clear()
    return e


def test_feedback_is_blind_until_both_sides_are_in() -> None:
    e = _approved()
    e.leave_feedback(Party.STUDENT, "stu-1", 5, "Great team", POLICY, NOW)
    assert e.events == []
    assert e.visible_feedback(Party.STUDENT)[0].rating == 5
    assert e.visible_feedback(Party.EMPLOYER) == ()
    assert e.visible_feedback(None) == ()
    assert e.wanted_timers() == {PUBLISH_FEEDBACK_TIMER: NOW + 14 * DAY}
    e.leave_feedback(Party.EMPLOYER, "emp-a", 4, "Solid work", POLICY, LATER)
    assert e.events == [events.FeedbackPublished("e-1")]
    assert len(e.visible_feedback(None)) == 2
    assert e.wanted_timers() == {}


def test_feedback_is_published_alone_after_the_window() -> None:
    e = _approved()
    e.leave_feedback(Party.EMPLOYER, "emp-a", 3, "", POLICY, NOW)
    with pytest.raises(FailedPrecondition, match="window"):
        e.publish_feedback(NOW + 13 * DAY)
    e.publish_feedback(NOW + 14 * DAY)
    assert e.feedback_published
    assert [f.author for f in e.visible_feedback(None)] == [Party.EMPLOYER]
    with pytest.raises(FailedPrecondition, match="window closed"):
        e.leave_feedback(Party.STUDENT, "stu-1", 2, "Late", POLICY, NOW + 15 * DAY)
    assert len(e.events) == 1


def test_feedback_rules() -> None:
    with pytest.raises(FailedPrecondition, match="SUBMITTED"):
        submitted().leave_feedback(Party.STUDENT, "stu-1", 5, "", POLICY, NOW)
    e = _approved()
    with pytest.raises(InvalidArgument, match="rating"):
        e.leave_feedback(Party.STUDENT, "stu-1", 6, "", POLICY, NOW)
    e.leave_feedback(Party.STUDENT, "stu-1", 5, "", POLICY, NOW)
    with pytest.raises(FailedPrecondition, match="twice"):
        e.leave_feedback(Party.STUDENT, "stu-1", 4, "", POLICY, NOW)


def test_the_completion_claim_exists_from_approval_and_survives_payment() -> None:
    e = submitted()
    with pytest.raises(FailedPrecondition, match="SUBMITTED"):
        e.completion_claim()
    e.approve(LATER, "cr-1")
    assert e.completion_claim() == e.completion_claim()
    e.mark_paid("cr-other", LATER + DAY)
    claim = e.completion_claim()
    assert (claim.record_id, claim.student_id, claim.skills, claim.estimated_hours) == (
        "cr-1",
        "stu-1",
        ("react", "typescript"),
        10,
    )
    assert claim.complete_time == claim.issue_time == LATER
