"""What happened to a listing; the contracts adapter turns each into its `listings.v1` event."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListingEvent:
    listing_id: str


@dataclass(frozen=True)
class ListingSubmitted(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingPublished(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingApproved(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingUpdated(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingRejected(ListingEvent):
    reason: str


@dataclass(frozen=True)
class ListingFilled(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingReopened(ListingEvent):
    pass


@dataclass(frozen=True)
class ListingClosed(ListingEvent):
    reason: str


@dataclass(frozen=True)
class ListingCancelled(ListingEvent):
    reason: str


@dataclass(frozen=True)
class ListingExpired(ListingEvent):
    pass
