"""A ListNotifications page token only continues the query it came from."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from stint_runtime.clock import ManualClock

from tests.notifications.events import build_event
from tests.notifications.kit import EventFeed, NotificationsClient, eventually, new_student
from tests.support.grpc_errors import violated_fields

pytestmark = pytest.mark.integration

SHORTLISTED = "stint.applications.v1.ApplicationShortlisted"


async def test_an_inbox_token_is_bound_to_the_unread_filter(
    client: NotificationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    student = new_student()
    for _ in range(3):
        await feed.publish(build_event(SHORTLISTED, student=student.subject))
        clock.advance(timedelta(minutes=1))

    async def three() -> bool:
        return (await client.inbox(student)).unread_count == 3

    await eventually(three, limit=30, what=lambda: "3 inbox items")
    first = await client.inbox(student, page_size=1)
    assert first.next_page_token
    rest = await client.inbox(student, page_size=5, page_token=first.next_page_token)
    assert len(rest.notifications) == 2, "the same query continues at another page size"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.inbox(student, unread_only=True, page_token=first.next_page_token)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == {"page_token"}
