"""One plain function per command or query: load, authorize, call the domain, save.

Saving through the repository also stages the listing's new events in the same unit of work,
so state and events commit together. Ownership lives here: an employer acts only on its own
organisation's listings, and a listing the caller may not see is NOT_FOUND, never a hint.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stint_runtime.clock import Clock
from stint_runtime.errors import (
    ConcurrencyConflict,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
)
from stint_runtime.persistence.pages import page_size
from stint_runtime.values import at_millis

from stint_listings.adapters.repository import ListingRepository
from stint_listings.domain import commands as c
from stint_listings.domain.content import merged
from stint_listings.domain.model import PUBLIC, READABLE, Listing, ListingStatus
from stint_listings.domain.queries import ListingFilter, Page
from stint_listings.domain.rules import PostingRules

log = logging.getLogger("stint.listings")


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Context:
    """What every handler may need besides its command and repository."""

    clock: Clock
    rules: PostingRules = field(default_factory=PostingRules)
    new_id: Callable[[], str] = _new_id
    default_page_size: int = 20

    def now(self) -> datetime:
        return at_millis(self.clock.now())


Owns = Callable[[c.Actor, Listing], bool]


def _owner(actor: c.Actor, listing: Listing) -> bool:
    return actor.owns(listing.employer_org_id)


def _owner_or_admin(actor: c.Actor, listing: Listing) -> bool:
    return actor.is_admin or actor.owns(listing.employer_org_id)


def _admin(actor: c.Actor, listing: Listing) -> bool:
    return actor.is_admin


def _can_see(actor: c.Actor, listing: Listing) -> bool:
    """Anyone reads open and ended listings by id; drafts, pending, rejected and cancelled ones
    only their org and admins."""
    return listing.status in READABLE or _owner_or_admin(actor, listing)


def _load(listings: ListingRepository, listing_id: str, actor: c.Actor, may_act: Owns) -> Listing:
    listing = listings.get(listing_id)
    if listing is None or not _can_see(actor, listing):
        raise NotFound(f"listing {listing_id} not found")
    if not may_act(actor, listing):
        raise PermissionDenied(f"not allowed to change listing {listing_id}")
    return listing


class VersionedCommand(Protocol):
    @property
    def actor(self) -> c.Actor: ...
    @property
    def listing_id(self) -> str: ...
    @property
    def expected_version(self) -> int: ...


def _load_version(listings: ListingRepository, cmd: VersionedCommand, may_act: Owns) -> Listing:
    listing = _load(listings, cmd.listing_id, cmd.actor, may_act)
    if listing.version != cmd.expected_version:
        raise ConcurrencyConflict(
            f"listing {listing.id} is at version {listing.version}, "
            f"not the expected {cmd.expected_version}"
        )
    return listing


def create_listing(cmd: c.CreateListing, listings: ListingRepository, ctx: Context) -> Listing:
    # An empty employer_org_id means the caller's own organisation (the token's org claim).
    employer_org_id = cmd.employer_org_id or cmd.actor.org or ""
    if not cmd.actor.owns(employer_org_id):
        raise PermissionDenied("employers create listings only for their own organisation")
    listing = Listing.create(
        listing_id=ctx.new_id(),
        employer_org_id=employer_org_id,
        created_by=cmd.actor.subject,
        content=cmd.content,
        rules=ctx.rules,
        now=ctx.now(),
    )
    listings.add(listing)
    return listing


def update_listing(cmd: c.UpdateListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _owner)
    listing.update(merged(listing.content, cmd.content, cmd.update_mask), ctx.rules, ctx.now())
    listings.save(listing)
    return listing


def submit_for_review(cmd: c.SubmitForReview, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _owner)
    listing.submit_for_review(ctx.rules, ctx.now())
    listings.save(listing)
    return listing


def approve_listing(cmd: c.ApproveListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _admin)
    listing.approve(cmd.actor.subject, ctx.now())
    listings.save(listing)
    return listing


def reject_listing(cmd: c.RejectListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _admin)
    listing.reject(cmd.actor.subject, cmd.reason, ctx.now())
    listings.save(listing)
    return listing


def publish_listing(cmd: c.PublishListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _owner_or_admin)
    listing.publish(ctx.rules, ctx.now())
    listings.save(listing)
    return listing


def close_listing(cmd: c.CloseListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _owner_or_admin)
    listing.close(cmd.reason, ctx.now())
    listings.save(listing)
    return listing


def cancel_listing(cmd: c.CancelListing, listings: ListingRepository, ctx: Context) -> Listing:
    listing = _load_version(listings, cmd, _owner_or_admin)
    listing.cancel(cmd.reason, ctx.now())
    listings.save(listing)
    return listing


def get_listing(query: c.GetListing, listings: ListingRepository, ctx: Context) -> Listing:
    return _load(listings, query.listing_id, query.actor, _can_see)


def _visible_statuses(query: c.SearchListings) -> frozenset[ListingStatus]:
    actor = query.actor
    if actor.is_admin or actor.role == "employer":
        return query.statuses or frozenset(ListingStatus)
    return query.statuses & PUBLIC if query.statuses else frozenset({ListingStatus.PUBLISHED})


def search_listings(query: c.SearchListings, listings: ListingRepository, ctx: Context) -> Page:
    size = page_size(query.page_size, ctx.default_page_size)
    actor = query.actor
    listing_filter = ListingFilter(
        statuses=_visible_statuses(query),
        unrestricted=actor.is_admin,
        private_org=actor.org if actor.role == "employer" else None,
        text=query.text,
        skills=query.skills,
        match_all_skills=query.match_all_skills,
        industry=query.industry,
        min_fee=query.min_fee,
        max_fee=query.max_fee,
        remote=query.remote,
        employer_org_id=query.employer_org_id,
        order=query.order,
        deadline_after=query.deadline_after,
        deadline_before=query.deadline_before,
        min_hours=query.min_hours,
        max_hours=query.max_hours,
    )
    return listings.search(listing_filter, size, query.page_token)


def take_seat(cmd: c.TakeSeat, listings: ListingRepository, ctx: Context) -> Listing | None:
    """An engagement started (or waits for a seat); a redelivery changes nothing.

    A start where no engagement can start (a DRAFT listing, say) is refused and logged.
    """
    listing = listings.get(cmd.listing_id)
    if listing is None:
        log.warning("engagement for an unknown listing", extra=_seat_log(cmd))
        return None
    try:
        changed = listing.seat_taken(cmd.engagement_id, ctx.now())
    except FailedPrecondition as refused:
        log.warning("seat refused: %s", refused.message, extra=_seat_log(cmd))
        return None
    if changed:
        listings.save(listing)
    return listing


def free_seat(cmd: c.FreeSeat, listings: ListingRepository, ctx: Context) -> Listing | None:
    """An engagement was cancelled or expired: its seat (if it held one) is free again."""
    listing = listings.get(cmd.listing_id)
    if listing is None:
        log.warning("engagement for an unknown listing", extra=_seat_log(cmd))
        return None
    if listing.seat_freed(cmd.engagement_id, ctx.now()):
        listings.save(listing)
    return listing


def _seat_log(cmd: c.TakeSeat | c.FreeSeat) -> dict[str, str]:
    return {"listing_id": cmd.listing_id, "engagement_id": cmd.engagement_id}


def expire_listing(
    cmd: c.ExpireListing, listings: ListingRepository, ctx: Context
) -> Listing | None:
    """The expiry timer fired; a listing no longer PUBLISHED has nothing to expire."""
    listing = listings.get(cmd.listing_id)
    if listing is None or listing.status is not ListingStatus.PUBLISHED:
        return None
    listing.expire(ctx.now())
    listings.save(listing)
    return listing


Handler = Callable[[Any, ListingRepository, Context], object]

HANDLERS: dict[type[Any], Handler] = {
    c.CreateListing: create_listing,
    c.UpdateListing: update_listing,
    c.SubmitForReview: submit_for_review,
    c.ApproveListing: approve_listing,
    c.RejectListing: reject_listing,
    c.PublishListing: publish_listing,
    c.CloseListing: close_listing,
    c.CancelListing: cancel_listing,
    c.GetListing: get_listing,
    c.SearchListings: search_listings,
    c.TakeSeat: take_seat,
    c.FreeSeat: free_seat,
    c.ExpireListing: expire_listing,
}


def handle(message: c.Command | c.Query, listings: ListingRepository, ctx: Context) -> object:
    return HANDLERS[type(message)](message, listings, ctx)
