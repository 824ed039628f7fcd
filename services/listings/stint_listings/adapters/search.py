"""SearchListings over MongoDB: a filter document, a stable order and keyset page tokens."""

from __future__ import annotations

from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.pages import order

from stint_listings.adapters.documents import search_terms
from stint_listings.domain.model import PUBLIC
from stint_listings.domain.queries import ListingFilter, SearchOrder

# Newest first; _id breaks ties so the order is total and pages never overlap.
SORT_FIELD = "listed_at"
ORDER = order(SORT_FIELD)
# Each order is "descending by a time-typed key" (documents.to_document derives the keys), so
# the runtime's keyset pages serve all of them.
SORT_FIELDS = {
    SearchOrder.NEWEST: SORT_FIELD,
    SearchOrder.FEE_HIGHEST: "fee_key",
    SearchOrder.DEADLINE_SOONEST: "deadline_key",
}


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
    clauses.extend(
        _range("content.application_deadline", query.deadline_after, query.deadline_before)
    )
    clauses.extend(
        _range("content.estimated_hours", query.min_hours or None, query.max_hours or None)
    )
    return {"$and": clauses}


def _range(field: str, low: object, high: object) -> list[Document]:
    bounds: Document = {}
    if low is not None:
        bounds["$gte"] = low
    if high is not None:
        bounds["$lte"] = high
    return [{field: bounds}] if bounds else []


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
