"""SearchListings orders (newest, highest fee, soonest deadline) and the deadline and hours
filters, over the real database, paged so the keyset tokens follow each order."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from stint.common.v1 import money_pb2
from stint.listings.v1 import service_pb2
from stint_runtime.clock import ManualClock

from tests.listings.api.kit import Caller, ListingsClient

pytestmark = pytest.mark.integration


async def _all_pages(client: ListingsClient, **fields: object) -> list[str]:
    ids: list[str] = []
    token = ""
    while True:
        page = await client.search(Caller.STUDENT, page_size=1, page_token=token, **fields)
        ids += [listing.id for listing in page.listings]
        token = page.next_page_token
        if not token:
            return ids


async def test_search_orders_and_filters_by_deadline_and_hours(
    client: ListingsClient, clock: ManualClock
) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    now = client.clock.now()
    made: dict[str, str] = {}
    for name, hours, fee, deadline_days in (
        ("small", 5, 20_000, 6),
        ("large", 30, 90_000, 3),
        ("middle", 15, 40_000, 5),
    ):
        listing = await client.published(
            title=f"{marker} {name}",
            estimated_hours=hours,
            fee=money_pb2.Money(amount_minor=fee, currency="USD"),
            application_deadline=now + timedelta(days=deadline_days),
        )
        made[name] = listing.id
        clock.advance(timedelta(minutes=1))  # distinct publish times for the newest order

    newest = await _all_pages(client, text=marker)
    assert newest == [made["middle"], made["large"], made["small"]]
    by_fee = await _all_pages(client, text=marker, order=service_pb2.SEARCH_ORDER_FEE_HIGHEST)
    assert by_fee == [made["large"], made["middle"], made["small"]]
    by_deadline = await _all_pages(
        client, text=marker, order=service_pb2.SEARCH_ORDER_DEADLINE_SOONEST
    )
    assert by_deadline == [made["large"], made["middle"], made["small"]]

    by_hours = await _all_pages(client, text=marker, min_hours=10, max_hours=20)
    assert by_hours == [made["middle"]]
    before = Timestamp()
    before.FromDatetime(now + timedelta(days=5, hours=1))
    after = Timestamp()
    after.FromDatetime(now + timedelta(days=4))
    window = await _all_pages(client, text=marker, deadline_after=after, deadline_before=before)
    assert window == [made["middle"]]
