"""Twenty students accept their offers at once for the listing's last seat: exactly one wins."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from stint.applications.v1 import service_pb2

from tests.applications.api.kit import (
    EMPLOYER,
    ApplicationsClient,
    AppStatus,
    EventFeed,
    new_student,
    published_events,
)

pytestmark = pytest.mark.integration
RACERS = 20
LOSING = {grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ABORTED}


async def test_twenty_concurrent_acceptances_fill_the_last_seat_once(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published(seats=2)
    await client.engaged(listing.id, new_student())
    students = [new_student() for _ in range(RACERS)]
    offers = await asyncio.gather(*(client.offered(listing.id, s) for s in students))

    async def accept(index: int) -> grpc.StatusCode | str:
        offer = offers[index]
        try:
            response = await client.accept(offer, students[index])
        except grpc.aio.AioRpcError as error:
            return error.code()
        return response.engagement.id

    outcomes = await asyncio.gather(*(accept(i) for i in range(RACERS)))

    winners = [o for o in outcomes if isinstance(o, str)]
    losers = [o for o in outcomes if not isinstance(o, str)]
    assert len(winners) == 1, outcomes
    assert set(losers) <= LOSING, outcomes
    engagements = await client.call(
        "ListEngagements",
        service_pb2.ListEngagementsRequest(listing_id=listing.id, page_size=100),
        EMPLOYER,
    )
    assert len(engagements.engagements) == 2
    assert winners[0] in {e.id for e in engagements.engagements}
    accepted = [
        (await client.get_application(offer.id)).status == AppStatus.APPLICATION_STATUS_ACCEPTED
        for offer in offers
    ]
    assert accepted.count(True) == 1
    started = await published_events(client.settings.kafka_bootstrap_servers, winners[0], 1)
    assert started == ["EngagementStarted"]
