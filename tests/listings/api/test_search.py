"""SearchListings through the gRPC API: each filter, combinations, who sees what.

The module's own service holds exactly the listings seeded here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from stint.common.v1 import money_pb2
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.clock import ManualClock

from tests.listings.api.kit import ORG_B, Caller, ListingsClient, Status

pytestmark = pytest.mark.integration
Seeds = dict[str, resources_pb2.Listing]
MINUTE = timedelta(minutes=1)


def money(amount_minor: int, currency: str = "USD") -> money_pb2.Money:
    return money_pb2.Money(amount_minor=amount_minor, currency=currency)


@pytest.fixture(scope="module")
async def seeds(client: ListingsClient, clock: ManualClock) -> Seeds:
    """Seeded a minute apart, in this order, so "newest first" compares times, not ids."""
    seeds: Seeds = {}
    seeds["dataset"] = await client.published(
        title="Clean a customer dataset",
        skills=["python", "sql"],
        industry="fintech",
        fee=money(30_000),
        remote=True,
    )
    clock.advance(MINUTE)
    seeds["dashboard"] = await client.published(
        title="Build a React dashboard",
        skills=["react", "typescript"],
        industry="retail",
        fee=money(50_000),
        remote=False,
    )
    clock.advance(MINUTE)
    churn = await client.create(
        Caller.OTHER_EMPLOYER,
        org=ORG_B,
        title="Train a churn model",
        skills=["python", "ml"],
        industry="fintech",
        estimated_hours=20,
        fee=money(80_000, "EUR"),
        remote=True,
    )
    churn = await client.approve(await client.submit(churn, Caller.OTHER_EMPLOYER))
    seeds["churn"] = await client.publish(churn, Caller.OTHER_EMPLOYER)
    clock.advance(MINUTE)
    seeds["draft_b"] = await client.create(
        Caller.OTHER_EMPLOYER,
        org=ORG_B,
        title="Python draft",
        skills=["python"],
        industry="fintech",
    )
    clock.advance(MINUTE)
    seeds["closed"] = await client.close(
        await client.published(title="Scrape news", skills=["python"], industry="media")
    )
    return seeds


async def found(
    client: ListingsClient, seeds: Seeds, caller: Caller = Caller.STUDENT, **fields: Any
) -> set[str]:
    names = {listing.id: name for name, listing in seeds.items()}
    page = await client.search(caller, **fields)
    return {names[listing.id] for listing in page.listings}


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"dataset", "dashboard", "churn"}),
    ({"text": "react"}, {"dashboard"}),
    ({"text": "spreadsheet"}, {"dataset", "dashboard", "churn"}),
    ({"text": "PYTHON"}, {"dataset", "churn"}),
    ({"text": "customer dataset"}, {"dataset"}),
    ({"text": "churn dataset"}, set()),
    ({"skills": ["sql", "ml"]}, {"dataset", "churn"}),
    ({"skills": ["python", "sql"], "skill_match": service_pb2.SKILL_MATCH_ALL}, {"dataset"}),
    ({"industry": "fintech"}, {"dataset", "churn"}),
    ({"min_fee": money(30_000), "max_fee": money(50_000)}, {"dataset", "dashboard"}),
    ({"min_fee": money(40_000)}, {"dashboard"}),
    ({"max_fee": money(100_000, "EUR")}, {"churn"}),
    ({"remote": True}, {"dataset", "churn"}),
    ({"remote": False}, {"dashboard"}),
    ({"employer_org_id": ORG_B}, {"churn"}),
    ({"statuses": [Status.LISTING_STATUS_CLOSED]}, set()),
    (
        {
            "text": "python",
            "industry": "fintech",
            "remote": True,
            "min_fee": money(20_000),
            "skills": ["sql"],
        },
        {"dataset"},
    ),
    ({"text": "python", "min_fee": money(1, "EUR")}, {"churn"}),
]


@pytest.mark.parametrize(("fields", "expected"), FILTERS, ids=[str(f) for f, _ in FILTERS])
async def test_each_filter_and_combinations_for_a_student(
    client: ListingsClient, seeds: Seeds, fields: dict[str, Any], expected: set[str]
) -> None:
    assert await found(client, seeds, **fields) == expected


async def test_employers_and_admins_see_what_their_role_allows(
    client: ListingsClient, seeds: Seeds
) -> None:
    draft = [Status.LISTING_STATUS_DRAFT]
    closed = [Status.LISTING_STATUS_CLOSED]
    assert await found(client, seeds, Caller.OTHER_EMPLOYER, statuses=draft) == {"draft_b"}
    assert await found(client, seeds, Caller.OWNER, statuses=draft) == set()
    assert await found(client, seeds, Caller.OWNER, statuses=closed) == {"closed"}
    assert await found(client, seeds, Caller.OTHER_EMPLOYER, statuses=closed) == set()
    assert await found(client, seeds, Caller.ADMIN, text="python") == {
        "dataset",
        "churn",
        "draft_b",
        "closed",
    }
    assert await found(client, seeds, Caller.NOBODY, industry="fintech") == {"dataset", "churn"}


async def test_results_are_newest_first(client: ListingsClient, seeds: Seeds) -> None:
    names = {listing.id: name for name, listing in seeds.items()}
    page = await client.search(Caller.ADMIN)
    times = [
        (x.publish_time if x.HasField("publish_time") else x.create_time).ToDatetime()
        for x in page.listings
    ]
    assert len(set(times)) == len(times), "seeded at distinct times, so times decide the order"
    assert [names[x.id] for x in page.listings] == [
        "closed",
        "draft_b",
        "churn",
        "dashboard",
        "dataset",
    ]


async def test_no_page_size_means_the_default_page(client: ListingsClient, seeds: Seeds) -> None:
    response: service_pb2.SearchListingsResponse = await client.call(
        "SearchListings", service_pb2.SearchListingsRequest(), Caller.NOBODY
    )
    visible = {listing.id for listing in response.listings}
    assert seeds["dataset"].id in visible
    assert seeds["draft_b"].id not in visible
