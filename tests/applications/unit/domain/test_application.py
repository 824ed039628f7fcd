"""The application lifecycle: every allowed transition, every refused one, rules and the SLA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stint_applications.domain import events
from stint_applications.domain.application import (
    OFFER_LAPSE_TIMER,
    RESPOND_TIMER,
    Application,
    ApplicationStatus,
    ScreeningAnswer,
)
from stint_applications.domain.listing import ListingStatus
from stint_runtime.errors import FailedPrecondition, InvalidArgument

from tests.applications.builders import ANSWERS, DAY, NOW, POLICY, STUDENT, application, listing

A = ApplicationStatus
LATER = NOW + DAY
Action = Callable[[Application], None]
ACTIONS: dict[str, tuple[Action, frozenset[ApplicationStatus], ApplicationStatus, type]] = {
    "shortlist": (
        lambda a: a.shortlist(POLICY, LATER),
        frozenset({A.SUBMITTED}),
        A.SHORTLISTED,
        events.ApplicationShortlisted,
    ),
    "extend_offer": (
        lambda a: a.extend_offer("Join us", LATER),
        frozenset({A.SUBMITTED, A.SHORTLISTED}),
        A.OFFERED,
        events.OfferExtended,
    ),
    "accept": (
        lambda a: a.accept("e-1", LATER),
        frozenset({A.OFFERED}),
        A.ACCEPTED,
        events.OfferAccepted,
    ),
    "decline": (
        lambda a: a.decline("", LATER),
        frozenset({A.OFFERED}),
        A.DECLINED,
        events.OfferDeclined,
    ),
    "reject": (
        lambda a: a.reject("not a fit", LATER),
        frozenset({A.SUBMITTED, A.SHORTLISTED, A.OFFERED}),
        A.REJECTED,
        events.ApplicationRejected,
    ),
    "withdraw": (
        lambda a: a.withdraw("found another", LATER),
        frozenset({A.SUBMITTED, A.SHORTLISTED}),
        A.WITHDRAWN,
        events.ApplicationWithdrawn,
    ),
    "expire": (
        lambda a: a.expire(NOW + 30 * DAY),
        frozenset({A.SUBMITTED, A.SHORTLISTED}),
        A.EXPIRED,
        events.ApplicationExpired,
    ),
}
CASES = [(name, status) for name in ACTIONS for status in A]


def in_state(status: ApplicationStatus) -> Application:
    app = application()
    app.status = status
    return app


@pytest.mark.parametrize(("action", "status"), CASES)
def test_each_action_moves_only_from_its_states(action: str, status: ApplicationStatus) -> None:
    act, allowed, result, event_type = ACTIONS[action]
    app = in_state(status)
    if status in allowed:
        act(app)
        assert app.status is result
        assert [type(e) for e in app.events] == [event_type]
        assert app.update_time > NOW
    else:
        with pytest.raises(FailedPrecondition, match=status.value):
            act(app)
        assert (app.status, app.events) == (status, [])


def test_submitting_records_the_application_and_its_sla() -> None:
    app = Application.submit(
        application_id="a-1",
        listing=listing(),
        student_id=STUDENT.subject,
        cover_letter="Hi",
        answers=ANSWERS,
        policy=POLICY,
        now=NOW,
    )
    assert (app.status, app.employer_org_id, app.version) == (A.SUBMITTED, "org-a", 1)
    assert app.events == [events.ApplicationSubmitted("a-1")]
    assert app.wanted_timers() == {RESPOND_TIMER: NOW + 7 * DAY}


@pytest.mark.parametrize("status", [s for s in ListingStatus if s is not ListingStatus.PUBLISHED])
def test_only_a_published_listing_takes_applications(status: ListingStatus) -> None:
    with pytest.raises(FailedPrecondition, match=status.value):
        application(snapshot=listing(status=status))


def test_no_application_after_the_deadline() -> None:
    late = listing(application_deadline=NOW)
    with pytest.raises(FailedPrecondition, match="deadline"):
        application(snapshot=late)


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ((), "answers"),
        ((ScreeningAnswer("why", "because"),), "answers"),
        ((ScreeningAnswer("portfolio", " "),), "answers[0].answer"),
        ((ScreeningAnswer("nope", "x"),), "answers[0].question_id"),
        ((*ANSWERS, ScreeningAnswer("portfolio", "again")), "answers[1].question_id"),
    ],
)
def test_every_required_question_is_answered_once(
    answers: tuple[ScreeningAnswer, ...], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        Application.submit(
            application_id="a-1",
            listing=listing(),
            student_id=STUDENT.subject,
            cover_letter="",
            answers=answers,
            policy=POLICY,
            now=NOW,
        )
    assert refused.value.field == field


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(InvalidArgument, match="reason"):
        application().reject(" ", LATER)


def test_the_response_sla_restarts_when_shortlisted_and_ends_with_a_decision() -> None:
    app = application()
    app.shortlist(POLICY, NOW + 3 * DAY)
    assert app.wanted_timers() == {RESPOND_TIMER: NOW + 10 * DAY}
    app.extend_offer("", NOW + 4 * DAY)
    assert app.wanted_timers() == {OFFER_LAPSE_TIMER: NOW + 7 * DAY}


def test_an_application_expires_only_when_its_sla_ran_out() -> None:
    app = application()
    with pytest.raises(FailedPrecondition, match="response time"):
        app.expire(NOW + 7 * DAY - DAY / 24)
    app.expire(NOW + 7 * DAY)
    assert (app.status, app.wanted_timers()) == (A.EXPIRED, {})
    assert app.reason
