"""Seats follow applications.v1 engagement events published to the real broker.

The test stands in for the applications service. It knows an event was handled when the
service's inbox holds its mark; a later event on the same key (so the same partition)
having been handled proves every earlier one was.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from stint.applications.v1 import events_pb2 as applications_events
from stint.common.v1.events_pb2 import EventEnvelope
from stint.topics import LISTINGS
from stint_runtime.messaging.envelope import decode_envelope
from stint_runtime.messaging.subscriber import INBOX, inbox_id
from stint_runtime.service import ServiceApp

from tests.listings.api.kit import (
    ApplicationsStandIn,
    ListingsClient,
    Status,
    engagement_event,
)
from tests.support.messaging_kit import read_topic
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def handled(service: ServiceApp, *envelopes: EventEnvelope) -> None:
    assert service.runtime is not None
    inbox = service.runtime.units.db[INBOX]
    assert service.subscriber is not None
    group = service.subscriber.group_id
    ids = [inbox_id(group, e.id) for e in envelopes]

    async def all_marked() -> bool:
        count = await asyncio.to_thread(inbox.count_documents, {"_id": {"$in": ids}})
        return bool(count == len(ids))

    await eventually(all_marked, limit=30, what=lambda: f"inbox marks for {ids}")


async def listing_events(client: ListingsClient, listing_id: str, count: int) -> list[str]:
    def mine(records: list[Any]) -> list[str]:
        return [
            decode_envelope(r.value).type.rsplit(".", 1)[1]
            for r in sorted(records, key=lambda r: r.offset)
            if r.key == listing_id.encode()
        ]

    records = await read_topic(
        client.settings.kafka_bootstrap_servers,
        LISTINGS,
        until=lambda records: len(mine(records)) >= count,
    )
    return mine(records)


async def test_a_redelivered_engagement_never_takes_two_seats(
    client: ListingsClient, applications: ApplicationsStandIn, service: ServiceApp
) -> None:
    listing = await client.published(seats=3)
    first = await applications.started(listing.id, "eng-1")
    await applications.send(first)  # the same envelope again: a redelivery
    again = await applications.started(listing.id, "eng-1")  # re-emitted with a new event id
    await handled(service, first, again)

    stored = await client.get(listing.id)
    assert (stored.seats_filled, stored.status) == (1, Status.LISTING_STATUS_PUBLISHED)
    assert stored.version == listing.version + 1


async def test_a_redelivered_cancellation_frees_one_seat_once(
    client: ListingsClient, applications: ApplicationsStandIn, service: ServiceApp
) -> None:
    listing = await client.published(seats=3)
    started = [await applications.started(listing.id, f"eng-{i}") for i in range(2)]
    cancelled = await applications.cancelled(listing.id, "eng-0")
    await applications.send(cancelled)
    await handled(service, *started, cancelled)
    sentinel = await applications.cancelled(listing.id, "eng-0")
    await handled(service, sentinel)

    assert (await client.get(listing.id)).seats_filled == 1


async def test_the_last_seat_fills_then_reopens_on_cancellation(
    client: ListingsClient, applications: ApplicationsStandIn
) -> None:
    listing = await client.published(seats=2)
    await applications.started(listing.id, "eng-a")
    await applications.started(listing.id, "eng-b")
    filled = await client.wait_for_status(listing.id, Status.LISTING_STATUS_FILLED)
    assert filled.seats_filled == 2
    assert filled.HasField("end_time")

    await applications.cancelled(listing.id, "eng-a")
    reopened = await client.wait_for_status(listing.id, Status.LISTING_STATUS_PUBLISHED)
    assert reopened.seats_filled == 1
    assert not reopened.HasField("end_time")

    events = await listing_events(client, listing.id, 4)
    assert events == [
        "ListingSubmitted",
        "ListingApproved",
        "ListingPublished",
        "ListingFilled",
        "ListingReopened",
    ]


async def test_two_engagements_racing_for_the_last_seat_never_over_fill_nor_lose_one(
    client: ListingsClient, applications: ApplicationsStandIn, service: ServiceApp
) -> None:
    listing = await client.published(seats=1)
    contenders = [
        applications.envelope(
            engagement_event(applications_events.EngagementStarted, listing.id, engagement),
            # Different keys: the two may land on different partitions and be handled at once.
            subject=engagement,
        )
        for engagement in ("eng-x", "eng-y")
    ]
    await asyncio.gather(*(applications.send(e) for e in contenders))
    await handled(service, *contenders)

    stored = await client.get(listing.id)
    assert (stored.seats_filled, stored.status) == (1, Status.LISTING_STATUS_FILLED)

    # Whichever won, the other waits for the seat rather than being dropped.
    await handled(service, await applications.cancelled(listing.id, "eng-x"))
    stored = await client.get(listing.id)
    assert (stored.seats_filled, stored.status) == (1, Status.LISTING_STATUS_FILLED)

    await applications.cancelled(listing.id, "eng-y")
    reopened = await client.wait_for_status(listing.id, Status.LISTING_STATUS_PUBLISHED)
    assert reopened.seats_filled == 0
    events = await listing_events(client, listing.id, 4)
    assert events == [
        "ListingSubmitted",
        "ListingApproved",
        "ListingPublished",
        "ListingFilled",
        "ListingReopened",
    ]


async def test_a_start_consumed_before_the_cancellation_that_made_room_keeps_its_seat(
    client: ListingsClient, applications: ApplicationsStandIn, service: ServiceApp
) -> None:
    """E1 cancelled, then E2 started: keyed by engagement, listings may see them swapped."""
    listing = await client.published(seats=1)
    await handled(service, await applications.started(listing.id, "eng-1"))
    await handled(service, await applications.started(listing.id, "eng-2"))
    await handled(service, await applications.cancelled(listing.id, "eng-1"))

    stored = await client.get(listing.id)
    assert (stored.seats_filled, stored.status) == (1, Status.LISTING_STATUS_FILLED)

    await applications.cancelled(listing.id, "eng-2")
    reopened = await client.wait_for_status(listing.id, Status.LISTING_STATUS_PUBLISHED)
    assert reopened.seats_filled == 0
    events = await listing_events(client, listing.id, 4)
    assert events == [
        "ListingSubmitted",
        "ListingApproved",
        "ListingPublished",
        "ListingFilled",
        "ListingReopened",
    ]


async def test_an_expired_engagement_frees_its_seat(
    client: ListingsClient, applications: ApplicationsStandIn
) -> None:
    listing = await client.published(seats=1)
    await applications.started(listing.id, "eng-e")
    await client.wait_for_status(listing.id, Status.LISTING_STATUS_FILLED)
    expired = engagement_event(applications_events.EngagementExpired, listing.id, "eng-e")
    await applications.send(applications.envelope(expired, "eng-e"))
    reopened = await client.wait_for_status(listing.id, Status.LISTING_STATUS_PUBLISHED)
    assert reopened.seats_filled == 0
