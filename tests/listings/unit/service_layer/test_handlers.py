"""Use cases over an in-memory repository: authorization, version checks, events, seats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from stint_listings.domain import commands as c
from stint_listings.domain import events
from stint_listings.domain.model import PUBLIC, ListingStatus
from stint_listings.service_layer import handlers
from stint_listings.service_layer.handlers import Context, handle
from stint_runtime.clock import ManualClock
from stint_runtime.errors import (
    ConcurrencyConflict,
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

from tests.listings.builders import (
    ADMIN,
    ANONYMOUS,
    NOW,
    ORG,
    OTHER_EMPLOYER,
    OWNER,
    STUDENT,
    content,
    in_state,
    published,
)
from tests.listings.unit.fakes import FakeListingRepository

S = ListingStatus
ACTORS = {
    "owner": OWNER,
    "other_employer": OTHER_EMPLOYER,
    "student": STUDENT,
    "admin": ADMIN,
    "anonymous": ANONYMOUS,
}


@pytest.fixture
def ctx() -> Context:
    return Context(clock=ManualClock(NOW), new_id=lambda: "l-new")


def test_create_stores_a_draft_of_the_callers_org(ctx: Context) -> None:
    repo = FakeListingRepository()
    listing = handlers.create_listing(c.CreateListing(OWNER, ORG, content()), repo, ctx)
    assert (listing.id, listing.status, listing.version) == ("l-new", S.DRAFT, 1)
    assert repo.stored["l-new"].created_by == OWNER.subject
    assert repo.published == []


@pytest.mark.parametrize("actor", ["other_employer", "student", "admin", "anonymous"])
def test_only_an_employer_of_the_org_creates_its_listings(ctx: Context, actor: str) -> None:
    with pytest.raises(PermissionDenied):
        handlers.create_listing(
            c.CreateListing(ACTORS[actor], ORG, content()), FakeListingRepository(), ctx
        )


def test_the_lifecycle_through_the_handlers_emits_versioned_events(ctx: Context) -> None:
    repo = FakeListingRepository()
    handle(c.CreateListing(OWNER, ORG, content()), repo, ctx)
    handle(c.SubmitForReview(OWNER, "l-new", 1), repo, ctx)
    handle(c.ApproveListing(ADMIN, "l-new", 2), repo, ctx)
    handle(c.PublishListing(OWNER, "l-new", 3), repo, ctx)
    handle(c.TakeSeat("l-new", "e-1"), repo, ctx)
    handle(c.TakeSeat("l-new", "e-2"), repo, ctx)
    handle(c.FreeSeat("l-new", "e-2"), repo, ctx)
    listing = handle(c.CloseListing(ADMIN, "l-new", 7, "done"), repo, ctx)

    assert repo.published == [
        (events.ListingSubmitted("l-new"), 2),
        (events.ListingApproved("l-new"), 3),
        (events.ListingPublished("l-new"), 4),
        (events.ListingFilled("l-new"), 6),
        (events.ListingReopened("l-new"), 7),
        (events.ListingClosed("l-new", "done"), 8),
    ]
    assert listing == repo.stored["l-new"]


def test_a_stale_expected_version_is_a_conflict(ctx: Context) -> None:
    repo = FakeListingRepository(in_state(S.DRAFT))
    with pytest.raises(ConcurrencyConflict, match="version 1"):
        handlers.update_listing(c.UpdateListing(OWNER, "l-1", 2, content()), repo, ctx)


Make = Callable[[c.Actor], Any]
# command -> (state it is run in, build it for an actor, roles allowed to run it)
MATRIX: dict[str, tuple[ListingStatus, Make, set[str]]] = {
    "UpdateListing": (S.DRAFT, lambda a: c.UpdateListing(a, "l-1", 1, content()), {"owner"}),
    "SubmitForReview": (S.DRAFT, lambda a: c.SubmitForReview(a, "l-1", 1), {"owner"}),
    "ApproveListing": (S.PENDING_REVIEW, lambda a: c.ApproveListing(a, "l-1", 1), {"admin"}),
    "RejectListing": (S.PENDING_REVIEW, lambda a: c.RejectListing(a, "l-1", 1, "no"), {"admin"}),
    "CloseListing": (S.PUBLISHED, lambda a: c.CloseListing(a, "l-1", 1), {"owner", "admin"}),
    "CancelListing": (S.DRAFT, lambda a: c.CancelListing(a, "l-1", 1, "x"), {"owner", "admin"}),
    "GetListing(draft)": (S.DRAFT, lambda a: c.GetListing(a, "l-1"), {"owner", "admin"}),
    "GetListing(published)": (S.PUBLISHED, lambda a: c.GetListing(a, "l-1"), set(ACTORS)),
}


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("command", list(MATRIX))
def test_authorization_matrix(ctx: Context, command: str, actor: str) -> None:
    status, make, allowed = MATRIX[command]
    repo = FakeListingRepository(in_state(status))
    if actor in allowed:
        handle(make(ACTORS[actor]), repo, ctx)
        return
    # Whoever cannot see the listing learns nothing of it; whoever can is told no.
    sees = status in PUBLIC or actor in {"owner", "admin"}
    expected: type[DomainError] = PermissionDenied if sees else NotFound
    with pytest.raises(expected):
        handle(make(ACTORS[actor]), repo, ctx)
    assert repo.published == []


@pytest.mark.parametrize("actor", ["owner", "admin"])
def test_publish_by_the_owner_or_an_admin(ctx: Context, actor: str) -> None:
    repo = FakeListingRepository(in_state(S.PENDING_REVIEW, approved=True))
    listing = handlers.publish_listing(c.PublishListing(ACTORS[actor], "l-1", 1), repo, ctx)
    assert listing.status is S.PUBLISHED


def test_a_missing_listing_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound):
        handlers.get_listing(c.GetListing(ADMIN, "nope"), FakeListingRepository(), ctx)


def test_seat_events_are_idempotent_and_never_over_fill(ctx: Context) -> None:
    repo = FakeListingRepository(published(seats=1))
    assert handlers.take_seat(c.TakeSeat("l-1", "e-1"), repo, ctx) is not None
    version = repo.stored["l-1"].version
    handlers.take_seat(c.TakeSeat("l-1", "e-1"), repo, ctx)
    assert repo.stored["l-1"].version == version
    handlers.take_seat(c.TakeSeat("l-1", "e-2"), repo, ctx)  # waits: saved, not dropped
    handlers.take_seat(c.TakeSeat("l-1", "e-2"), repo, ctx)
    stored = repo.stored["l-1"]
    assert (stored.seats_filled, stored.seat_waiting, stored.version) == (1, ("e-2",), version + 1)
    handlers.free_seat(c.FreeSeat("l-1", "e-2"), repo, ctx)
    assert (repo.stored["l-1"].status, repo.stored["l-1"].seat_waiting) == (S.FILLED, ())
    assert handlers.take_seat(c.TakeSeat("unknown", "e-9"), repo, ctx) is None
    assert handlers.free_seat(c.FreeSeat("unknown", "e-9"), repo, ctx) is None


def test_the_expiry_timer_expires_only_a_published_listing(ctx: Context) -> None:
    assert isinstance(ctx.clock, ManualClock)
    repo = FakeListingRepository(published())
    ctx.clock.set(repo.stored["l-1"].content.application_deadline)
    listing = handlers.expire_listing(c.ExpireListing("l-1"), repo, ctx)
    assert listing is not None
    assert listing.status is S.EXPIRED
    assert repo.published == [(events.ListingExpired("l-1"), 2)]


def test_the_expiry_timer_ignores_listings_that_left_publishing(ctx: Context) -> None:
    repo = FakeListingRepository(in_state(S.FILLED))
    assert handlers.expire_listing(c.ExpireListing("l-1"), repo, ctx) is None
    assert handlers.expire_listing(c.ExpireListing("gone"), repo, ctx) is None


@pytest.mark.parametrize(
    ("actor", "requested", "statuses", "unrestricted", "private_org"),
    [
        ("student", frozenset(), frozenset({S.PUBLISHED}), False, None),
        ("anonymous", frozenset(), frozenset({S.PUBLISHED}), False, None),
        ("student", frozenset({S.DRAFT, S.FILLED}), frozenset({S.FILLED}), False, None),
        ("owner", frozenset(), frozenset(ListingStatus), False, ORG),
        ("owner", frozenset({S.DRAFT}), frozenset({S.DRAFT}), False, ORG),
        ("admin", frozenset(), frozenset(ListingStatus), True, None),
    ],
)
def test_search_limits_what_each_caller_sees(
    ctx: Context,
    actor: str,
    requested: frozenset[ListingStatus],
    statuses: frozenset[ListingStatus],
    unrestricted: bool,
    private_org: str | None,
) -> None:
    repo = FakeListingRepository()
    handlers.search_listings(c.SearchListings(ACTORS[actor], statuses=requested), repo, ctx)
    [seen] = repo.searches
    assert (seen.statuses, seen.unrestricted, seen.private_org) == (
        statuses,
        unrestricted,
        private_org,
    )


def test_search_refuses_an_oversized_page(ctx: Context) -> None:
    with pytest.raises(InvalidArgument) as refused:
        handlers.search_listings(
            c.SearchListings(STUDENT, page_size=101), FakeListingRepository(), ctx
        )
    assert refused.value.field == "page_size"
