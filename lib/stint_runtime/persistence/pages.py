"""Keyset pagination: a stable newest-first order and opaque tokens naming a page's last item.

A token is bound to the query it came from: it carries a digest of the normalized filter (the
MongoDB condition, the caller's scope included) and of the sort field, and a token presented
with another query is refused (INVALID_ARGUMENT naming `page_token`) instead of silently
paging through something else. The page size may change between pages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo import DESCENDING
from pymongo.client_session import ClientSession
from pymongo.collection import Collection

from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.mongo import Document

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 100
MILLISECOND = timedelta(milliseconds=1)
NOT_A_TOKEN = "is not a token returned by this list"  # noqa: S105 (a message, not a secret)
OTHER_QUERY = "belongs to another query: send it with the same filters as the page it came from"
T = TypeVar("T")


def page_size(requested: int, default: int) -> int:
    """The size of a page: `requested`, or `default` when unset (0); beyond 1..100 is refused."""
    if not 0 <= requested <= MAX_PAGE_SIZE:
        raise InvalidArgument("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return requested or default


def order(time_field: str) -> list[tuple[str, int]]:
    """Newest first; _id breaks ties so the order is total and pages never overlap."""
    return [(time_field, DESCENDING), ("_id", DESCENDING)]


def query_digest(query: Document, time_field: str) -> str:
    """A short digest of a normalized query (key order and value types do not matter)."""
    canonical = json.dumps([time_field, query], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_page_token(document: Document, time_field: str, *, query: Document) -> str:
    """The token for the page after `document`, bound to `query`."""
    moment: datetime = document[time_field]
    key = {
        "t": (moment - EPOCH) // MILLISECOND,
        "i": document["_id"],
        "q": query_digest(query, time_field),
    }
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def after_page_token(token: str, time_field: str, *, query: Document) -> Document:
    """The condition "strictly after the item named by `token`" in order(time_field).

    Raises InvalidArgument("page_token") for a malformed token or one from another query.
    """
    try:
        key: Any = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(key["i"], str) or not isinstance(key["t"], int):
            raise TypeError(key)
        moment = EPOCH + key["t"] * MILLISECOND
        digest = key["q"]
    except (ValueError, TypeError, KeyError, OverflowError, binascii.Error):
        raise InvalidArgument("page_token", NOT_A_TOKEN) from None
    if digest != query_digest(query, time_field):
        raise InvalidArgument("page_token", OTHER_QUERY)
    return {
        "$or": [
            {time_field: {"$lt": moment}},
            {time_field: moment, "_id": {"$lt": key["i"]}},
        ]
    }


def fetch_page(
    collection: Collection[Document],
    query: Document,
    time_field: str,
    size: int,
    token: str,
    *,
    session: ClientSession | None,
    load: Callable[[Document], T],
) -> tuple[list[T], str]:
    """A page of `query`, newest first by `time_field`, and the next page's token ("" at last)."""
    condition = query
    if token:
        condition = {"$and": [query, after_page_token(token, time_field, query=query)]}
    found = list(
        collection.find(condition, session=session).sort(order(time_field)).limit(size + 1)
    )
    page, more = found[:size], len(found) > size
    next_token = encode_page_token(page[-1], time_field, query=query) if more and page else ""
    return [load(document) for document in page], next_token
