"""Posting rules: each broken rule is INVALID_ARGUMENT naming the request field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from stint_listings.domain.content import Deliverable, Money, ScreeningQuestion
from stint_listings.domain.model import Listing, ListingStatus
from stint_listings.domain.rules import Currency, PostingRules, currency_table
from stint_runtime.errors import InvalidArgument

from tests.listings.builders import ADMIN, NOW, ORG, RULES, content, draft, in_state

DAY = timedelta(days=1)
QUESTION = ScreeningQuestion("q", "Why?")

BROKEN: list[tuple[str, dict[str, Any]]] = [
    ("content.title", {"title": "  "}),
    ("content.title", {"title": "x" * 201}),
    ("content.description", {"description": ""}),
    ("content.description", {"description": "x" * 20_001}),
    ("content.skills", {"skills": ()}),
    ("content.skills", {"skills": tuple(f"s{i}" for i in range(21))}),
    ("content.skills", {"skills": ("react", "react")}),
    ("content.skills[1]", {"skills": ("react", "x" * 51)}),
    ("content.industry", {"industry": ""}),
    ("content.location", {"location": "x" * 201}),
    ("content.deliverables", {"deliverables": (Deliverable("d", "", ("ok",)),) * 21}),
    ("content.deliverables[0].title", {"deliverables": (Deliverable("", "", ("ok",)),)}),
    (
        "content.deliverables[0].acceptance_criteria[0]",
        {"deliverables": (Deliverable("d", "", ("",)),)},
    ),
    ("content.estimated_hours", {"estimated_hours": 4}),
    ("content.estimated_hours", {"estimated_hours": 41}),
    ("content.fee.currency", {"fee": Money(20_000, "usd")}),
    ("content.fee.currency", {"fee": Money(20_000, "US")}),
    ("content.fee", {"fee": Money(19_999, "USD")}),
    ("content.seats", {"seats": 0}),
    ("content.seats", {"seats": 101}),
    ("content.screening_questions", {"screening_questions": (QUESTION,) * 11}),
    (
        "content.screening_questions[1].id",
        {"screening_questions": (QUESTION, ScreeningQuestion("q", "Again?"))},
    ),
    (
        "content.screening_questions[0].id",
        {"screening_questions": (ScreeningQuestion("Not Valid", "Why?"),)},
    ),
    (
        "content.screening_questions[0].text",
        {"screening_questions": (ScreeningQuestion("q", ""),)},
    ),
    ("content.application_deadline", {"application_deadline": NOW + 30 * DAY}),
]


@pytest.mark.parametrize(("field", "changes"), BROKEN, ids=[f for f, _ in BROKEN])
def test_create_and_update_name_the_broken_field(field: str, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument) as refused:
        Listing.create(
            listing_id="l-1",
            employer_org_id=ORG,
            created_by="emp",
            content=content(**changes),
            rules=RULES,
            now=NOW,
        )
    assert refused.value.field == field
    listing = draft()
    with pytest.raises(InvalidArgument) as refused:
        listing.update(content(**changes), RULES, NOW)
    assert refused.value.field == field
    assert listing.content == content()


def test_the_limits_themselves_are_accepted() -> None:
    draft(
        estimated_hours=40, fee=Money(80_000, "USD"), seats=100, screening_questions=(QUESTION,) * 0
    )
    draft(estimated_hours=5, fee=Money(10_000, "EUR"), seats=1)
    questions = tuple(ScreeningQuestion(f"q{i}", "Why?") for i in range(10))
    assert len(draft(screening_questions=questions).content.screening_questions) == 10


def test_the_hourly_floor_is_configurable_per_currency() -> None:
    rules = PostingRules(
        currencies=currency_table([Currency("USD", 2, 3_000), Currency("JPY", 0, 300)])
    )
    listing = draft()
    with pytest.raises(InvalidArgument, match="30000 USD"):
        listing.update(content(fee=Money(29_999, "USD")), rules, NOW)
    listing.update(content(fee=Money(3_000, "JPY")), rules, NOW)
    assert listing.content.fee == Money(3_000, "JPY")


def test_drafts_may_lack_deliverables_but_review_needs_them_with_criteria() -> None:
    listing = draft(deliverables=())
    with pytest.raises(InvalidArgument) as refused:
        listing.submit_for_review(RULES, NOW)
    assert refused.value.field == "content.deliverables"

    listing = draft(deliverables=(Deliverable("d", "", ("ok",)), Deliverable("e", "", ())))
    with pytest.raises(InvalidArgument) as refused:
        listing.submit_for_review(RULES, NOW)
    assert refused.value.field == "content.deliverables[1].acceptance_criteria"
    assert listing.status is ListingStatus.DRAFT


def test_review_needs_a_deadline_still_ahead() -> None:
    with pytest.raises(InvalidArgument) as refused:
        draft().submit_for_review(RULES, NOW + 5 * DAY)
    assert refused.value.field == "content.application_deadline"


@pytest.mark.parametrize(
    ("field", "publish_at"),
    [
        ("content.due_date", NOW + 4 * DAY),  # the due date is then 6 days away
        ("content.application_deadline", NOW + 5 * DAY),  # the deadline is reached
    ],
)
def test_publishing_checks_the_dates_against_the_publish_moment(
    field: str, publish_at: Any
) -> None:
    listing = in_state(ListingStatus.PENDING_REVIEW, approved=True)
    listing.content = content(due_date=NOW + 10 * DAY)
    with pytest.raises(InvalidArgument) as refused:
        listing.publish(RULES, publish_at)
    assert refused.value.field == field
    assert listing.status is ListingStatus.PENDING_REVIEW


def test_the_due_date_window_is_seven_to_sixty_days() -> None:
    for due_days, ok in [(6, False), (7, True), (60, True), (61, False)]:
        listing = draft()  # a 6-day due date is refused at create already: set it afterwards
        listing.content = content(due_date=NOW + due_days * DAY)
        listing.status = ListingStatus.PENDING_REVIEW
        listing.approve(ADMIN.subject, NOW)
        if ok:
            listing.publish(RULES, NOW)
        else:
            with pytest.raises(InvalidArgument, match=r"content\.due_date"):
                listing.publish(RULES, NOW)
