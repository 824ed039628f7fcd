"""Every row of the recipient table: the event as its producer sends it -> recipients, category."""

from __future__ import annotations

import pytest
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint_notifications.adapters.contracts import facts_of
from stint_notifications.domain.channels import Category
from stint_notifications.domain.facts import EventFacts, message_of
from stint_notifications.domain.recipients import RECIPIENTS, Audience, route_for
from stint_notifications.service_layer.audiences import audience_user_ids, reaches_org

from tests.notifications.events import build_event, envelope_of

ORG_MEMBERS = ["emp-1", "emp-2"]
ADMINS = ["adm-1"]
STUDENT = ["stu-1"]
CREATOR = ["emp-creator"]
L, A, P = "stint.listings.v1.", "stint.applications.v1.", "stint.payouts.v1."

# Written out by hand from the brief (not derived from the table under test).
EXPECTED: dict[str, tuple[list[str], Category]] = {
    L + "ListingRejected": (CREATOR, Category.LISTINGS),
    L + "ListingApproved": (CREATOR, Category.LISTINGS),
    L + "ListingExpired": (ORG_MEMBERS, Category.LISTINGS),
    L + "ListingFilled": (ORG_MEMBERS, Category.LISTINGS),
    L + "ListingPublished": ([], Category.SKILL_ALERTS),
    A + "ApplicationSubmitted": (ORG_MEMBERS, Category.APPLICATIONS),
    A + "ApplicationShortlisted": (STUDENT, Category.APPLICATIONS),
    A + "OfferExtended": (STUDENT, Category.APPLICATIONS),
    A + "OfferAccepted": (ORG_MEMBERS, Category.APPLICATIONS),
    A + "OfferDeclined": (ORG_MEMBERS, Category.APPLICATIONS),
    A + "ApplicationRejected": (STUDENT, Category.APPLICATIONS),
    A + "ApplicationWithdrawn": (ORG_MEMBERS, Category.APPLICATIONS),
    A + "ApplicationExpired": (STUDENT, Category.APPLICATIONS),
    A + "StudentInvited": (STUDENT, Category.APPLICATIONS),
    # By default a student's message in an engagement's thread (the employer's: see below).
    A + "MessagePosted": (ORG_MEMBERS, Category.ENGAGEMENTS),
    A + "EngagementStarted": (STUDENT + ORG_MEMBERS, Category.ENGAGEMENTS),
    A + "DeliverableSubmitted": (ORG_MEMBERS, Category.ENGAGEMENTS),
    A + "RevisionRequested": (STUDENT, Category.ENGAGEMENTS),
    A + "DeliverableApproved": (STUDENT, Category.ENGAGEMENTS),
    A + "EngagementCancelled": (STUDENT, Category.ENGAGEMENTS),
    A + "EngagementExpired": (STUDENT + ORG_MEMBERS, Category.ENGAGEMENTS),
    A + "DisputeOpened": (ADMINS, Category.OPERATIONS),
    A + "DisputeResolved": (ORG_MEMBERS + STUDENT, Category.ENGAGEMENTS),
    A + "FeedbackPublished": (STUDENT + ORG_MEMBERS, Category.ENGAGEMENTS),
    A + "EngagementCompleted": (STUDENT, Category.ENGAGEMENTS),
    P + "PayoutHeld": (STUDENT, Category.PAYOUTS),
    P + "PayoutPaid": (STUDENT, Category.PAYOUTS),
    P + "PayoutFailed": (ADMINS, Category.OPERATIONS),
    P + "EscrowRefunded": (ORG_MEMBERS, Category.PAYOUTS),
}


class Directory:
    def org_member_ids(self, org_id: str) -> list[str]:
        return ORG_MEMBERS if org_id == "org-a" else ["someone-else"]

    def admin_ids(self) -> list[str]:
        return ADMINS


def test_every_row_is_tested_and_every_tested_row_exists() -> None:
    assert set(RECIPIENTS) == set(EXPECTED)


@pytest.mark.parametrize("event_type", sorted(EXPECTED), ids=lambda t: t.rsplit(".", 1)[-1])
def test_row(event_type: str) -> None:
    event = build_event(event_type, student="stu-1", org="org-a", creator="emp-creator")
    facts = facts_of(event, envelope_of(event))
    route = route_for(event_type)
    assert route is not None
    users, category = EXPECTED[event_type]
    assert route.category_for(facts.in_engagement) is category
    assert audience_user_ids(route, facts, Directory()) == users
    message = message_of(route, {**facts.values, "listing": "X"})
    assert message.title
    assert message.body
    assert "{" not in message.body, "every placeholder has a value"


def test_listing_published_goes_to_skill_subscribers_only() -> None:
    route = route_for(L + "ListingPublished")
    assert route is not None
    assert route.audiences == (Audience.SKILL_SUBSCRIBERS,)


def test_no_ghosting_notice_tells_the_student_they_may_apply_elsewhere() -> None:
    route = route_for(A + "ApplicationExpired")
    assert route is not None
    assert "apply elsewhere" in message_of(route, {"listing": "X"}).body


@pytest.mark.parametrize(
    ("event_type", "value", "expected"),
    [
        (A + "EngagementCompleted", "completion_record_id", ""),
        (P + "PayoutPaid", "amount", "500.00 EUR"),
        (A + "DisputeResolved", "payout_percent", "0"),
        (A + "ApplicationRejected", "reason", "not a fit"),
    ],
)
def test_message_values_come_from_the_event(event_type: str, value: str, expected: str) -> None:
    event = build_event(event_type)
    facts = facts_of(event, envelope_of(event))
    assert facts.values[value] == expected


MESSAGE = A + "MessagePosted"
BY_STUDENT = applications_resources.PARTY_STUDENT
BY_EMPLOYER = applications_resources.PARTY_EMPLOYER


def message_facts(author: applications_resources.Party.ValueType, thread: str) -> EventFacts:
    """MessagePosted by `author` in an "engagement" or "application" thread."""
    event = build_event(MESSAGE, student="stu-1", org="org-a", creator="emp-1", author=author)
    assert isinstance(event, applications_events.MessagePosted)
    if thread == "application":
        event.engagement_id = ""
        event.application_id = "app-1"
    return facts_of(event, envelope_of(event))


@pytest.mark.parametrize(
    ("author", "users", "tells_org_integrations"),
    [
        (BY_STUDENT, ORG_MEMBERS, True),
        (BY_EMPLOYER, STUDENT, False),
        (applications_resources.PARTY_PLATFORM, [], False),
        (applications_resources.PARTY_UNSPECIFIED, [], False),
    ],
    ids=["student-writes", "employer-writes", "platform", "unspecified"],
)
def test_a_message_tells_the_other_party_only(
    author: applications_resources.Party.ValueType,
    users: list[str],
    tells_org_integrations: bool,
) -> None:
    route = route_for(MESSAGE)
    assert route is not None
    assert route.audiences == (Audience.OTHER_PARTY,)
    facts = message_facts(author, "engagement")
    assert audience_user_ids(route, facts, Directory()) == users
    assert reaches_org(route, facts) is tells_org_integrations


@pytest.mark.parametrize(
    ("thread", "category"),
    [("application", Category.APPLICATIONS), ("engagement", Category.ENGAGEMENTS)],
)
def test_a_message_is_in_the_category_of_its_thread(thread: str, category: Category) -> None:
    route = route_for(MESSAGE)
    assert route is not None
    facts = message_facts(BY_EMPLOYER, thread)
    assert route.category_for(facts.in_engagement) is category
    assert audience_user_ids(route, facts, Directory()) == STUDENT


def test_a_message_notice_names_the_listing_and_carries_nothing_else_of_the_event() -> None:
    route = route_for(MESSAGE)
    assert route is not None
    facts = message_facts(BY_STUDENT, "engagement")
    assert set(facts.values) <= {"listing", "engagement_id", "application_id"}
    message = message_of(route, {**facts.values, "listing": "Survey app"})
    assert message.body.startswith("New message about \u201cSurvey app\u201d")
    assert "stu-1" not in message.title + message.body


def test_an_invitation_names_the_listing() -> None:
    route = route_for(A + "StudentInvited")
    assert route is not None
    event = build_event(A + "StudentInvited", student="stu-1", org="org-a", listing_id="lst-9")
    facts = facts_of(event, envelope_of(event))
    assert facts.listing_id == "lst-9"
    assert (
        "invited to apply to \u201cSurvey app\u201d"
        in message_of(route, {**facts.values, "listing": "Survey app"}).body
    )
