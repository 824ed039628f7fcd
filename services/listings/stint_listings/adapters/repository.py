"""The listing repository: the port the service layer uses and its MongoDB adapter."""

from __future__ import annotations

from typing import Protocol

from pymongo import ASCENDING
from pymongo.database import Database
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.pages import fetch_page, order
from stint_runtime.persistence.timers import ensure_timer_index
from stint_runtime.persistence.unit_of_work import UnitOfWork

from stint_listings.adapters import contracts
from stint_listings.adapters.documents import from_document, to_document
from stint_listings.adapters.search import ORDER, SORT_FIELDS, filter_document
from stint_listings.domain.model import Listing
from stint_listings.domain.queries import ListingFilter, Page

LISTINGS = "listings"


class ListingRepository(Protocol):
    def add(self, listing: Listing) -> None:
        """Store a new listing and publish its pending events."""

    def get(self, listing_id: str) -> Listing | None: ...

    def save(self, listing: Listing) -> None:
        """Store the changed listing if nobody else did since it was loaded (ConcurrencyConflict
        otherwise), bump its version and publish its pending events."""

    def search(self, query: ListingFilter, page_size: int, page_token: str) -> Page: ...


def ensure_indexes(db: Database[Document]) -> None:
    """Indexes behind GetListing, SearchListings' filters and order, and the expiry timers."""
    listings = db[LISTINGS]
    listings.create_index([("status", ASCENDING), *ORDER], name="status_order")
    listings.create_index([("employer_org_id", ASCENDING), *ORDER], name="org_order")
    listings.create_index(ORDER, name="order")
    listings.create_index([("search_terms", ASCENDING)], name="search_terms")
    listings.create_index([("content.skills", ASCENDING)], name="skills")
    listings.create_index([("content.industry", ASCENDING)], name="industry")
    listings.create_index(
        [("content.fee.currency", ASCENDING), ("content.fee.amount_minor", ASCENDING)],
        name="fee",
    )
    listings.create_index([("content.remote", ASCENDING)], name="remote")
    for name, field in (("fee_order", "fee_key"), ("deadline_order", "deadline_key")):
        listings.create_index([("status", ASCENDING), *order(field)], name=name)
    ensure_timer_index(listings)


class MongoListingRepository:
    """Listings in one unit of work: state and `listings.v1` events commit together."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, listing: Listing) -> None:
        self.uow.insert(LISTINGS, to_document(listing))
        self._publish(listing)

    def get(self, listing_id: str) -> Listing | None:
        document = self.uow.find_one(LISTINGS, {"_id": listing_id})
        return None if document is None else from_document(document)

    def save(self, listing: Listing) -> None:
        listing.version = self.uow.replace_if_version(
            LISTINGS, to_document(listing), listing.version
        )
        self._publish(listing)

    def search(self, query: ListingFilter, page_size: int, page_token: str) -> Page:
        listings, next_token = fetch_page(
            self.uow.db[LISTINGS],
            filter_document(query),
            SORT_FIELDS[query.order],
            page_size,
            page_token,
            session=self.uow.session,
            load=from_document,
        )
        return Page(listings=listings, next_page_token=next_token)

    def _publish(self, listing: Listing) -> None:
        for event in listing.events:
            message = contracts.event_message(event, listing)
            self.uow.emit(message, subject=listing.id, sequence=listing.version)
        listing.events.clear()
