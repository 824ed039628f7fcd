"""Keyset pages through gRPC neither skip nor repeat while listings are published between them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stint_runtime.clock import ManualClock

from tests.listings.api.kit import Caller, ListingsClient

pytestmark = pytest.mark.integration


async def test_pages_neither_skip_nor_repeat_while_listings_are_inserted(
    client: ListingsClient, clock: ManualClock
) -> None:
    original = set()
    for _ in range(7):
        clock.advance(timedelta(minutes=1))
        original.add((await client.published()).id)
    # Two listed at the very same moment: the id breaks the tie.
    original |= {(await client.published()).id, (await client.published()).id}

    seen: list[str] = []
    newer: set[str] = set()
    older: set[str] = set()
    token = ""
    while True:
        page = await client.search(Caller.STUDENT, page_size=3, page_token=token)
        seen += [listing.id for listing in page.listings]
        if not page.next_page_token:
            break
        token = page.next_page_token
        # Between pages: one listing newer than everything, one older than everything.
        clock.advance(timedelta(hours=1))
        newer.add((await client.published()).id)
        clock.advance(-timedelta(days=1))
        older.add((await client.published()).id)
        clock.advance(timedelta(days=1))

    assert len(seen) == len(set(seen)), "a listing came back on two pages"
    assert original <= set(seen), f"skipped: {original - set(seen)}"
    assert not newer & set(seen), "listings newer than the first page belong before it"
    assert older <= set(seen), "listings older than the cursor come on later pages"
    assert len(seen) == len(original) + len(older)


async def test_an_empty_result_has_no_next_page(client: ListingsClient) -> None:
    page = await client.search(Caller.STUDENT, text="nothing-matches-this", page_size=1)
    assert (list(page.listings), page.next_page_token) == ([], "")
