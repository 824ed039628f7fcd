"""protovalidate enforces the declarative rules of the request messages, naming the field."""

from __future__ import annotations

import protovalidate
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from stint.applications.v1 import service_pb2 as applications
from stint.common.v1.money_pb2 import Money
from stint.listings.v1 import resources_pb2 as listing
from stint.listings.v1 import service_pb2 as listings
from stint.notifications.v1 import service_pb2 as notifications
from stint.payouts.v1 import resources_pb2 as payout
from stint.payouts.v1 import service_pb2 as payouts


def violated_fields(request: Message) -> list[str]:
    """Dotted paths of the fields `request` violates (empty when valid)."""
    violations = [v.proto for v in protovalidate.collect_violations(request)]
    return [".".join(e.field_name for e in v.field.elements) if v.field else "" for v in violations]


def content(**changes: object) -> listing.ListingContent:
    good = listing.ListingContent(
        title="Build a pricing dashboard",
        description="Turn our sales CSVs into a weekly dashboard.",
        skills=["python", "sql"],
        industry="retail",
        deliverables=[
            listing.Deliverable(title="Dashboard", acceptance_criteria=["loads in under 2 s"])
        ],
        estimated_hours=20,
        fee=Money(amount_minor=60000, currency="USD"),
        seats=2,
        application_deadline=Timestamp(seconds=1_800_000_000),
        due_date=Timestamp(seconds=1_802_000_000),
        remote=True,
        screening_questions=[
            listing.ScreeningQuestion(id="portfolio", text="A link to your work?")
        ],
    )
    for name, value in changes.items():
        if isinstance(value, list):
            getattr(good, name).extend(value)
        else:
            setattr(good, name, value)
    return good


GOOD: list[Message] = [
    listings.CreateListingRequest(employer_org_id="org-1", content=content()),
    listings.CreateListingRequest(content=content()),
    listings.UpdateListingRequest(listing_id="l-1", expected_version=3, content=content()),
    listings.GetListingRequest(listing_id="l-1"),
    listings.SearchListingsRequest(
        text="data",
        skills=["python"],
        skill_match=listings.SKILL_MATCH_ALL,
        statuses=[listing.LISTING_STATUS_PUBLISHED],
        page_size=50,
    ),
    listings.SearchListingsRequest(),  # page_size 0: the service's default
    applications.ListApplicationsRequest(),
    applications.LeaveFeedbackRequest(engagement_id="e-1", rating=5, text="Great work"),
    applications.ResolveDisputeRequest(
        engagement_id="e-1", expected_version=4, payout_percent=0, resolution="No delivery"
    ),
    payouts.RegisterPayoutAccountRequest(
        method=payout.PAYOUT_METHOD_BANK_ACCOUNT,
        destination_token="tok_1234",
        country="DE",
        currency="EUR",
        tax_form_status=payout.TAX_FORM_STATUS_SUBMITTED,
    ),
    payouts.ReconcileRequest(),
    notifications.RegisterContactRequest(user_id="u-1", email="ada@example.org"),
    notifications.RegisterWebhookRequest(
        owner_id="org-1", url="https://ats.example.org/hooks/stint", secret="s" * 32
    ),
]

BAD: list[tuple[Message, str]] = [
    (
        listings.CreateListingRequest(employer_org_id="o", content=content(estimated_hours=0)),
        "content.estimated_hours",
    ),
    (
        listings.CreateListingRequest(employer_org_id="o", content=content(estimated_hours=-1)),
        "content.estimated_hours",
    ),
    (listings.CreateListingRequest(employer_org_id="o", content=content(seats=0)), "content.seats"),
    (
        listings.CreateListingRequest(
            employer_org_id="o",
            content=content(
                screening_questions=[
                    listing.ScreeningQuestion(id=f"q{i}", text="Why?") for i in range(10)
                ]
            ),
        ),
        "content.screening_questions",
    ),
    (listings.CreateListingRequest(employer_org_id="o"), "content"),
    # Empty is the caller's org (taken from the token); too long is still refused.
    (
        listings.CreateListingRequest(employer_org_id="o" * 129, content=content()),
        "employer_org_id",
    ),
    (listings.GetListingRequest(listing_id=""), "listing_id"),
    (listings.SubmitForReviewRequest(listing_id="l-1"), "expected_version"),
    (listings.SearchListingsRequest(page_size=-1), "page_size"),
    (listings.SearchListingsRequest(page_size=101), "page_size"),
    (
        listings.SearchListingsRequest(page_size=10, statuses=[listing.LISTING_STATUS_UNSPECIFIED]),
        "statuses",
    ),
    (applications.LeaveFeedbackRequest(engagement_id="e-1", rating=6), "rating"),
    (applications.LeaveFeedbackRequest(engagement_id="e-1", rating=0), "rating"),
    (
        applications.ResolveDisputeRequest(
            engagement_id="e-1", expected_version=1, payout_percent=101, resolution="x"
        ),
        "payout_percent",
    ),
    (
        payouts.RegisterPayoutAccountRequest(
            destination_token="tok_1234",
            country="DE",
            currency="EUR",
            tax_form_status=payout.TAX_FORM_STATUS_SUBMITTED,
        ),
        "method",
    ),
    (notifications.RegisterContactRequest(user_id="u-1", email="not-an-email"), "email"),
    (
        notifications.RegisterWebhookRequest(
            owner_id="org-1", url="https://ats.example.org/h", secret="short"
        ),
        "secret",
    ),
]


@pytest.mark.parametrize("request_message", GOOD, ids=lambda m: type(m).__name__)
def test_good_requests_pass(request_message: Message) -> None:
    assert violated_fields(request_message) == []


@pytest.mark.parametrize(
    ("request_message", "field"), BAD, ids=[f"{type(m).__name__}-{f}" for m, f in BAD]
)
def test_bad_requests_are_refused_naming_the_field(request_message: Message, field: str) -> None:
    assert violated_fields(request_message) == [field]
