"""SearchListings on the real database: each filter, combinations, visibility and paging."""

from __future__ import annotations

import base64
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from stint_listings.adapters.repository import MongoListingRepository
from stint_listings.bootstrap import ListingsApp
from stint_listings.domain import commands as c
from stint_listings.domain.content import Money
from stint_listings.domain.model import Listing, ListingStatus
from stint_listings.service_layer import handlers
from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.unit_of_work import UnitOfWork

from tests.listings.builders import ADMIN, NOW, OTHER_EMPLOYER, OWNER, RULES, STUDENT, content

pytestmark = pytest.mark.integration
S = ListingStatus
SEEN = frozenset({S.PUBLISHED, S.FILLED})

# id: (org, final status, content changes); listed (published or created) one minute apart.
SEED: dict[str, tuple[str, ListingStatus, dict[str, Any]]] = {
    "l1": (
        "org-a",
        S.PUBLISHED,
        {
            "title": "Clean a customer dataset",
            "skills": ("python", "sql"),
            "industry": "fintech",
            "fee": Money(30_000, "USD"),
        },
    ),
    "l2": (
        "org-a",
        S.PUBLISHED,
        {
            "title": "Build a React dashboard",
            "estimated_hours": 20,
            "fee": Money(50_000, "USD"),
            "remote": False,
        },
    ),
    "l3": (
        "org-b",
        S.PUBLISHED,
        {
            "title": "Train a churn model",
            "skills": ("python", "ml"),
            "industry": "fintech",
            "estimated_hours": 20,
            "fee": Money(80_000, "EUR"),
        },
    ),
    "l4": (
        "org-b",
        S.FILLED,
        {"title": "Python data pipeline", "skills": ("python",), "industry": "health"},
    ),
    "l5": ("org-a", S.DRAFT, {"title": "Secret python draft", "skills": ("python",)}),
    "l6": ("org-b", S.PENDING_REVIEW, {"title": "Unreviewed python work", "skills": ("python",)}),
    "l7": ("org-a", S.CLOSED, {"title": "Old python gig", "skills": ("python",)}),
}


def _listing(listing_id: str, org: str, status: ListingStatus, at: Any, **changes: Any) -> Listing:
    listing = Listing.create(
        listing_id=listing_id,
        employer_org_id=org,
        created_by="emp",
        content=content(**changes),
        rules=RULES,
        now=at,
    )
    if status is not S.DRAFT:
        listing.submit_for_review(RULES, at)
    if status not in (S.DRAFT, S.PENDING_REVIEW):
        listing.approve(ADMIN.subject, at)
        listing.publish(RULES, at)
    if status is S.FILLED:
        for seat in range(listing.content.seats):
            listing.seat_taken(f"{listing_id}-e{seat}", at)
    if status is S.CLOSED:
        listing.close("done", at)
    return listing


def _store(app: ListingsApp, *listings: Listing) -> None:
    def add_all(uow: UnitOfWork) -> None:
        repository = MongoListingRepository(uow)
        for listing in listings:
            repository.add(listing)

    app.uow_factory.run(add_all)


@pytest.fixture(scope="module", autouse=True)
def _seeded(app: ListingsApp) -> None:
    _store(
        app,
        *(
            _listing(listing_id, org, status, NOW + timedelta(minutes=i), **changes)
            for i, (listing_id, (org, status, changes)) in enumerate(SEED.items())
        ),
    )


def _ids(app: ListingsApp, actor: c.Actor = STUDENT, **filters: Any) -> list[str]:
    page = app.run(handlers.search_listings, c.SearchListings(actor, **filters))
    return [listing.id for listing in page.listings]


def _seeded_ids(app: ListingsApp, actor: c.Actor = STUDENT, **filters: Any) -> list[str]:
    return [i for i in _ids(app, actor, page_size=100, **filters) if i in SEED]


def test_students_see_published_listings_newest_first(app: ListingsApp) -> None:
    assert _seeded_ids(app) == ["l3", "l2", "l1"]
    assert _seeded_ids(app, statuses=frozenset({S.FILLED, S.DRAFT})) == ["l4"]


def test_employers_also_see_their_own_orgs_listings_in_every_state(app: ListingsApp) -> None:
    assert _seeded_ids(app, OWNER) == ["l7", "l5", "l4", "l3", "l2", "l1"]
    assert _seeded_ids(app, OTHER_EMPLOYER) == ["l6", "l4", "l3", "l2", "l1"]
    assert _seeded_ids(app, ADMIN) == ["l7", "l6", "l5", "l4", "l3", "l2", "l1"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"text": "python"}, ["l4", "l3", "l1"]),
        ({"text": "REACT Dashboard"}, ["l2"]),
        ({"text": "react python"}, []),
        ({"skills": ("sql", "ml")}, ["l3", "l1"]),
        ({"skills": ("python", "sql"), "match_all_skills": True}, ["l1"]),
        ({"industry": "fintech"}, ["l3", "l1"]),
        ({"min_fee": Money(25_000, "USD"), "max_fee": Money(60_000, "USD")}, ["l2", "l1"]),
        ({"min_fee": Money(0, "EUR")}, ["l3"]),
        ({"max_fee": Money(20_000, "USD")}, ["l4"]),
        ({"remote": False}, ["l2"]),
        ({"remote": True}, ["l4", "l3", "l1"]),
        ({"employer_org_id": "org-b"}, ["l4", "l3"]),
        (
            {"text": "python", "remote": True, "industry": "fintech", "min_fee": Money(0, "USD")},
            ["l1"],
        ),
        ({"skills": ("python",), "employer_org_id": "org-b", "industry": "health"}, ["l4"]),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else None,
)
def test_each_filter_and_their_combinations(
    app: ListingsApp, filters: dict[str, Any], expected: list[str]
) -> None:
    assert _seeded_ids(app, statuses=SEEN, **filters) == expected


def test_a_fee_range_in_two_currencies_is_refused(app: ListingsApp) -> None:
    with pytest.raises(InvalidArgument):
        _ids(app, min_fee=Money(0, "USD"), max_fee=Money(1, "EUR"))


@pytest.mark.parametrize(
    "token",
    ["not base64 at all!", base64.urlsafe_b64encode(b'{"t": "x", "i": 1}').decode(), "e30="],
)
def test_a_bad_page_token_is_invalid_argument(app: ListingsApp, token: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        _ids(app, page_token=token)
    assert refused.value.field == "page_token"


def test_pages_neither_skip_nor_repeat_while_listings_are_inserted(app: ListingsApp) -> None:
    org = "org-paging"
    # Ten listings, some sharing a listing time so the id tie-break matters.
    originals = [
        _listing(f"p{i:02d}", org, S.PUBLISHED, NOW + timedelta(hours=1, minutes=i // 2))
        for i in range(10)
    ]
    _store(app, *originals)
    query = c.SearchListings(STUDENT, employer_org_id=org, page_size=3)
    seen: list[str] = []
    token = ""
    for page_number in range(10):
        page = app.run(handlers.search_listings, dataclasses.replace(query, page_token=token))
        seen.extend(listing.id for listing in page.listings)
        _store(app, _listing(f"new{page_number}", org, S.PUBLISHED, NOW + timedelta(hours=2)))
        token = page.next_page_token
        if not token:
            break
    expected = sorted(originals, key=lambda li: (li.publish_time, li.id), reverse=True)
    assert seen == [listing.id for listing in expected]
