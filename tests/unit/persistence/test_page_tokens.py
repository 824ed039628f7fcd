"""Page tokens are opaque and bound to the query (filters and sort field) they came from."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from stint_runtime.errors import InvalidArgument
from stint_runtime.persistence.pages import (
    NOT_A_TOKEN,
    OTHER_QUERY,
    after_page_token,
    encode_page_token,
)

MOMENT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
ITEM = {"_id": "a-1", "create_time": MOMENT}
QUERY = {"$and": [{"student_id": "s-1"}, {"status": {"$in": ["PAID", "PENDING"]}}]}


def test_a_token_continues_the_query_it_came_from() -> None:
    token = encode_page_token(ITEM, "create_time", query=QUERY)
    condition = after_page_token(token, "create_time", query=QUERY)
    assert condition == {
        "$or": [
            {"create_time": {"$lt": MOMENT}},
            {"create_time": MOMENT, "_id": {"$lt": "a-1"}},
        ]
    }


def test_key_order_does_not_change_the_query() -> None:
    token = encode_page_token(ITEM, "create_time", query={"a": 1, "b": 2})
    after_page_token(token, "create_time", query={"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("query", "time_field"),
    [
        (
            {"$and": [{"student_id": "s-2"}, {"status": {"$in": ["PAID", "PENDING"]}}]},
            "create_time",
        ),
        ({"$and": [{"student_id": "s-1"}]}, "create_time"),
        (QUERY, "update_time"),
    ],
    ids=["other-filter-value", "filter-dropped", "other-sort"],
)
def test_a_token_from_another_query_is_refused_naming_page_token(
    query: dict[str, object], time_field: str
) -> None:
    token = encode_page_token({**ITEM, "update_time": MOMENT}, "create_time", query=QUERY)
    with pytest.raises(InvalidArgument) as refused:
        after_page_token(token, time_field, query=query)
    assert (refused.value.field, refused.value.message) == (
        "page_token",
        f"page_token: {OTHER_QUERY}",
    )


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        base64.urlsafe_b64encode(json.dumps({"t": 1, "i": "x"}).encode()).decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
    ],
    ids=["garbage", "unbound-old-format", "not-an-object"],
)
def test_a_malformed_token_is_refused_naming_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        after_page_token(token, "create_time", query=QUERY)
    assert (refused.value.field, refused.value.message) == (
        "page_token",
        f"page_token: {NOT_A_TOKEN}",
    )
