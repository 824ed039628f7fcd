"""What callers ask of the listings service; the gRPC and Kafka entrypoints build these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from stint_runtime.values import Actor as Actor

from stint_listings.domain.content import ListingContent, Money
from stint_listings.domain.model import ListingStatus
from stint_listings.domain.queries import SearchOrder

SYSTEM = Actor(subject="stint-listings", role="system")


@dataclass(frozen=True)
class CreateListing:
    actor: Actor
    employer_org_id: str
    content: ListingContent


@dataclass(frozen=True)
class UpdateListing:
    actor: Actor
    listing_id: str
    expected_version: int
    content: ListingContent
    # ListingContent field names taken from `content`; empty: all of them.
    update_mask: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmitForReview:
    actor: Actor
    listing_id: str
    expected_version: int


@dataclass(frozen=True)
class ApproveListing:
    actor: Actor
    listing_id: str
    expected_version: int


@dataclass(frozen=True)
class RejectListing:
    actor: Actor
    listing_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class PublishListing:
    actor: Actor
    listing_id: str
    expected_version: int


@dataclass(frozen=True)
class CloseListing:
    actor: Actor
    listing_id: str
    expected_version: int
    reason: str = ""


@dataclass(frozen=True)
class CancelListing:
    actor: Actor
    listing_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class GetListing:
    actor: Actor
    listing_id: str


@dataclass(frozen=True)
class SearchListings:
    actor: Actor
    text: str = ""
    skills: tuple[str, ...] = ()
    match_all_skills: bool = False
    industry: str = ""
    min_fee: Money | None = None
    max_fee: Money | None = None
    remote: bool | None = None
    statuses: frozenset[ListingStatus] = field(default_factory=frozenset)
    employer_org_id: str = ""
    page_size: int = 20
    page_token: str = ""
    order: SearchOrder = SearchOrder.NEWEST
    deadline_after: datetime | None = None
    deadline_before: datetime | None = None
    min_hours: int = 0
    max_hours: int = 0


@dataclass(frozen=True)
class TakeSeat:
    """applications.v1 EngagementStarted."""

    listing_id: str
    engagement_id: str


@dataclass(frozen=True)
class FreeSeat:
    """applications.v1 EngagementCancelled or EngagementExpired."""

    listing_id: str
    engagement_id: str


@dataclass(frozen=True)
class ExpireListing:
    """The listing's expiry timer fired."""

    listing_id: str


Command = (
    CreateListing
    | UpdateListing
    | SubmitForReview
    | ApproveListing
    | RejectListing
    | PublishListing
    | CloseListing
    | CancelListing
    | TakeSeat
    | FreeSeat
    | ExpireListing
)
Query = GetListing | SearchListings
