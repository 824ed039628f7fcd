"""Valid listing content and listings in any state, for tests of the listings service."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from stint_listings.domain.commands import Actor
from stint_listings.domain.content import Deliverable, ListingContent, Money, ScreeningQuestion
from stint_listings.domain.model import Listing, ListingStatus
from stint_listings.domain.rules import PostingRules

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RULES = PostingRules()
ORG = "org-a"
OWNER = Actor(subject="emp-a", role="employer", org=ORG)
OTHER_EMPLOYER = Actor(subject="emp-b", role="employer", org="org-b")
STUDENT = Actor(subject="stu-1", role="student")
ADMIN = Actor(subject="adm-1", role="admin")
ANONYMOUS = Actor(subject="", role=None)


def content(now: datetime = NOW, **changes: Any) -> ListingContent:
    """Content that passes every posting rule when published at `now`."""
    valid = ListingContent(
        title="Build a React dashboard",
        description="Turn our sales spreadsheet into a small dashboard.",
        skills=("react", "typescript"),
        industry="retail",
        deliverables=(
            Deliverable("Dashboard", "A deployed page", ("Loads in under 2s", "Shows totals")),
        ),
        estimated_hours=10,
        fee=Money(20_000, "USD"),
        seats=2,
        application_deadline=now + timedelta(days=5),
        due_date=now + timedelta(days=20),
        remote=True,
        location="",
        screening_questions=(ScreeningQuestion("portfolio", "Link your portfolio", True),),
    )
    return dataclasses.replace(valid, **changes)


def draft(listing_id: str = "l-1", **changes: Any) -> Listing:
    return Listing.create(
        listing_id=listing_id,
        employer_org_id=ORG,
        created_by=OWNER.subject,
        content=content(**changes),
        rules=RULES,
        now=NOW,
    )


def in_state(status: ListingStatus, *, approved: bool = False, seats: int = 2) -> Listing:
    """A listing put straight into `status` (FILLED ones have every seat taken)."""
    listing = draft(seats=seats)
    listing.status = status
    if approved:
        listing.reviewed_by = ADMIN.subject
        listing.approve_time = NOW
    if status is ListingStatus.FILLED:
        listing.seat_holders = frozenset(f"e-{i}" for i in range(seats))
    listing.events.clear()
    return listing


def published(seats: int = 2) -> Listing:
    listing = draft(seats=seats)
    listing.submit_for_review(RULES, NOW)
    listing.approve(ADMIN.subject, NOW)
    listing.publish(RULES, NOW)
    listing.events.clear()
    return listing
