"""A page token of ListApplications, ListEngagements or ListMessages only continues the query
it came from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from stint.applications.v1 import resources_pb2, service_pb2
from stint_runtime.clock import ManualClock

from tests.applications.api.kit import (
    EMPLOYER,
    ApplicationsClient,
    EventFeed,
    new_student,
)
from tests.support.grpc_errors import violated_fields

pytestmark = pytest.mark.integration


async def _refused(client: ApplicationsClient, method: str, request: Any, who: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.call(method, request, who)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {"page_token"}


async def _token(client: ApplicationsClient, method: str, request: Any, who: Any) -> str:
    page = await client.call(method, request, who)
    token: str = page.next_page_token
    assert token, f"{method} has a second page"
    again = type(request)()
    again.CopyFrom(request)
    again.page_token = token
    again.page_size = 10
    await client.call(method, again, who)  # the same query continues, at another page size
    return token


async def test_list_tokens_are_bound_to_their_filters(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing, elsewhere = await feed.published(seats=2), await feed.published()
    students = [new_student(), new_student()]
    for student in students:
        await client.engaged(listing.id, student)
        clock.advance(timedelta(minutes=1))

    request = service_pb2.ListApplicationsRequest(listing_id=listing.id, page_size=1)
    token = await _token(client, "ListApplications", request, EMPLOYER)
    for other in (
        service_pb2.ListApplicationsRequest(listing_id=elsewhere.id, page_token=token),
        service_pb2.ListApplicationsRequest(
            listing_id=listing.id,
            page_token=token,
            statuses=[resources_pb2.APPLICATION_STATUS_ACCEPTED],
        ),
        service_pb2.ListApplicationsRequest(
            listing_id=listing.id, page_token=token, order=service_pb2.LIST_ORDER_DEADLINE_SOONEST
        ),
    ):
        await _refused(client, "ListApplications", other, EMPLOYER)

    request_e = service_pb2.ListEngagementsRequest(listing_id=listing.id, page_size=1)
    token = await _token(client, "ListEngagements", request_e, EMPLOYER)
    await _refused(
        client,
        "ListEngagements",
        service_pb2.ListEngagementsRequest(listing_id=elsewhere.id, page_token=token),
        EMPLOYER,
    )

    applied = await client.apply(elsewhere.id, students[0])
    for text in ("First question", "Second question"):
        posted = service_pb2.PostMessageRequest(application_id=applied.id, text=text)
        await client.call("PostMessage", posted, students[0])
        clock.advance(timedelta(minutes=1))
    thread = service_pb2.ListMessagesRequest(application_id=applied.id, page_size=1)
    token = await _token(client, "ListMessages", thread, students[0])
    engagement_thread = service_pb2.ListMessagesRequest(
        engagement_id=(
            await client.call("ListEngagements", service_pb2.ListEngagementsRequest(), students[0])
        )
        .engagements[0]
        .id,
        page_token=token,
    )
    await _refused(client, "ListMessages", engagement_thread, students[0])
