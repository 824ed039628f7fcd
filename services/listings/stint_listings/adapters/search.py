"""SearchListings over MongoDB: a filter document, a stable order and keyset page tokens."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.mongo import Document

from stint_listings.adapters.documents import search_terms
from stint_listings.domain.model import PUBLIC
from stint_listings.domain.queries import ListingFilter

# Newest first; _id breaks ties so the order is total and pages never overlap.
ORDER = [("listed_at", DESCENDING), ("_id", DESCENDING)]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def filter_document(query: ListingFilter) -> Document:
    """Every condition of `query` (and the caller's visibility) ANDed together."""
    clauses: list[Document] = [{"status": {"$in": sorted(s.value for s in query.statuses)}}]
    if not query.unrestricted:
        visible: list[Document] = [{"status": {"$in": sorted(s.value for s in PUBLIC)}}]
        if query.private_org:
            visible.append({"employer_org_id": query.private_org})
        clauses.append({"$or": visible})
    if terms := search_terms(query.text):
        clauses.append({"search_terms": {"$all": terms}})
    if query.skills:
        operator = "$all" if query.match_all_skills else "$in"
        clauses.append({"content.skills": {operator: list(query.skills)}})
    if query.industry:
        clauses.append({"content.industry": query.industry})
    clauses.extend(_fee_clauses(query))
    if query.remote is not None:
        clauses.append({"content.remote": query.remote})
    if query.employer_org_id:
        clauses.append({"employer_org_id": query.employer_org_id})
    return {"$and": clauses}


def _fee_clauses(query: ListingFilter) -> list[Document]:
    bounds = [b for b in (query.min_fee, query.max_fee) if b is not None]
    if not bounds:
        return []
    currencies = {b.currency for b in bounds}
    if len(currencies) > 1:
        raise InvalidArgument("max_fee.currency", "must be the currency of min_fee")
    amount: dict[str, int] = {}
    if query.min_fee is not None:
        amount["$gte"] = query.min_fee.amount_minor
    if query.max_fee is not None:
        amount["$lte"] = query.max_fee.amount_minor
    return [{"content.fee.currency": currencies.pop()}, {"content.fee.amount_minor": amount}]


def encode_page_token(document: Document) -> str:
    """An opaque token naming the last listing of a page by its sort key."""
    listed_at: datetime = document["listed_at"]
    key = {"t": (listed_at - EPOCH) // MILLISECOND, "i": document["_id"]}
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def after_page_token(token: str) -> Document:
    """The condition "strictly after the listing named by `token`" in ORDER."""
    try:
        key: Any = json.loads(base64.urlsafe_b64decode(token.encode()))
        listed_at = EPOCH + key["t"] * MILLISECOND
        listing_id = key["i"]
        if not isinstance(listing_id, str) or not isinstance(key["t"], int):
            raise TypeError(listing_id)
    except (ValueError, TypeError, KeyError, OverflowError, binascii.Error):
        raise InvalidArgument("page_token", "is not a token returned by SearchListings") from None
    return {
        "$or": [
            {"listed_at": {"$lt": listed_at}},
            {"listed_at": listed_at, "_id": {"$lt": listing_id}},
        ]
    }
