"""Keyset pagination: a stable newest-first order and opaque tokens naming a page's last item."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING

from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.mongo import Document

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE_SIZE = 100
MILLISECOND = timedelta(milliseconds=1)


def page_size(requested: int, default: int) -> int:
    """The size of a page: `requested`, or `default` when unset (0); beyond 1..100 is refused."""
    if not 0 <= requested <= MAX_PAGE_SIZE:
        raise InvalidArgument("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    return requested or default


def order(time_field: str) -> list[tuple[str, int]]:
    """Newest first; _id breaks ties so the order is total and pages never overlap."""
    return [(time_field, DESCENDING), ("_id", DESCENDING)]


def encode_page_token(document: Document, time_field: str) -> str:
    moment: datetime = document[time_field]
    key = {"t": (moment - EPOCH) // MILLISECOND, "i": document["_id"]}
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def after_page_token(token: str, time_field: str) -> Document:
    """The condition "strictly after the item named by `token`" in order(time_field)."""
    try:
        key: Any = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(key["i"], str) or not isinstance(key["t"], int):
            raise TypeError(key)
        moment = EPOCH + key["t"] * MILLISECOND
    except (ValueError, TypeError, KeyError, OverflowError, binascii.Error):
        raise InvalidArgument("page_token", "is not a token returned by this list") from None
    return {
        "$or": [
            {time_field: {"$lt": moment}},
            {time_field: moment, "_id": {"$lt": key["i"]}},
        ]
    }
