"""An in-memory listing repository with the real one's version check (unit tests only)."""

from __future__ import annotations

import copy

from stint_listings.domain.events import ListingEvent
from stint_listings.domain.model import Listing
from stint_listings.domain.queries import ListingFilter, Page
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict


class FakeListingRepository:
    def __init__(self, *listings: Listing) -> None:
        self.stored: dict[str, Listing] = {}
        self.published: list[tuple[ListingEvent, int]] = []
        self.searches: list[ListingFilter] = []
        for listing in listings:
            self.stored[listing.id] = copy.deepcopy(listing)

    def add(self, listing: Listing) -> None:
        if listing.id in self.stored:
            raise AlreadyExists(listing.id)
        self._store(listing)

    def get(self, listing_id: str) -> Listing | None:
        listing = self.stored.get(listing_id)
        return copy.deepcopy(listing)

    def save(self, listing: Listing) -> None:
        if self.stored[listing.id].version != listing.version:
            raise ConcurrencyConflict(listing.id)
        listing.version += 1
        self._store(listing)

    def search(self, query: ListingFilter, page_size: int, page_token: str) -> Page:
        self.searches.append(query)
        return Page(listings=[])

    def _store(self, listing: Listing) -> None:
        self.published.extend((event, listing.version) for event in listing.events)
        listing.events.clear()
        self.stored[listing.id] = copy.deepcopy(listing)
