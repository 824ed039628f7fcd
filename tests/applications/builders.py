"""Actors, listing snapshots, applications and engagements in any state, for the tests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from stint_applications.domain.application import Application, ScreeningAnswer
from stint_applications.domain.commands import Actor
from stint_applications.domain.engagement import CriterionCheck, Engagement
from stint_applications.domain.listing import ListingSnapshot, ListingStatus, ScreeningQuestion
from stint_applications.domain.rules import Policy
from stint_runtime.values import Money

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = Policy()
ORG = "org-a"
EMPLOYER = Actor(subject="emp-a", role="employer", org=ORG)
OTHER_EMPLOYER = Actor(subject="emp-b", role="employer", org="org-b")
STUDENT = Actor(subject="stu-1", role="student")
OTHER_STUDENT = Actor(subject="stu-2", role="student")
ADMIN = Actor(subject="adm-1", role="admin")
ANONYMOUS = Actor(subject="", role=None)
ANSWERS = (ScreeningAnswer("portfolio", "https://example.org/me"),)
# The listing's deliverables' criteria, flattened in order.
CRITERIA = ("Shows revenue per month", "Loads in under 2 seconds", "Has unit tests")


def checklist(met: bool = True) -> tuple[CriterionCheck, ...]:
    """One check per criterion of `listing()`: what a complete submission declares."""
    return tuple(CriterionCheck(c, met, "see the PR") for c in CRITERIA)


def listing(listing_id: str = "l-1", **changes: Any) -> ListingSnapshot:
    """A PUBLISHED listing, its deadline 5 days after NOW and due 20 days after."""
    valid = ListingSnapshot(
        id=listing_id,
        employer_org_id=ORG,
        status=ListingStatus.PUBLISHED,
        title="Build a React dashboard",
        fee=Money(20_000, "USD"),
        seats=2,
        application_deadline=NOW + 5 * DAY,
        due_date=NOW + 20 * DAY,
        version=4,
        screening_questions=(
            ScreeningQuestion("portfolio", "Link your portfolio", True),
            ScreeningQuestion("why", "Why you?", False),
        ),
        skills=("react", "typescript"),
        estimated_hours=10,
        acceptance_criteria=CRITERIA,
    )
    return dataclasses.replace(valid, **changes)


def application(
    application_id: str = "a-1", student: Actor = STUDENT, snapshot: ListingSnapshot | None = None
) -> Application:
    submitted = Application.submit(
        application_id=application_id,
        listing=snapshot or listing(),
        student_id=student.subject,
        cover_letter="I build dashboards.",
        answers=ANSWERS,
        policy=POLICY,
        now=NOW,
    )
    submitted.events.clear()
    return submitted


def offered(application_id: str = "a-1", student: Actor = STUDENT) -> Application:
    offer = application(application_id, student)
    offer.shortlist(POLICY, NOW)
    offer.extend_offer("Welcome aboard", NOW)
    offer.events.clear()
    return offer


def engagement(engagement_id: str = "e-1", student: Actor = STUDENT) -> Engagement:
    accepted = offered(student=student)
    accepted.accept(engagement_id, NOW)
    started = Engagement.start(
        engagement_id=engagement_id,
        application=accepted,
        listing=listing(),
        policy=POLICY,
        now=NOW,
    )
    started.events.clear()
    return started


def submitted(engagement_id: str = "e-1") -> Engagement:
    work = engagement(engagement_id)
    work.submit("Done", ("https://example.org/pr/1",), checklist(), POLICY, NOW)
    work.events.clear()
    return work
