"""The in-app inbox: events become items; keyset pages, unread filter and count, MarkRead."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from stint.notifications.v1 import service_pb2 as s
from stint_runtime.clock import ManualClock

from tests.notifications.events import build_event
from tests.notifications.kit import EventFeed, NotificationsClient, eventually, new_student

pytestmark = pytest.mark.integration

SHORTLISTED = "stint.applications.v1.ApplicationShortlisted"


async def test_pages_unread_filter_and_mark_read(
    client: NotificationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    student = new_student()
    for _ in range(5):
        await feed.publish(build_event(SHORTLISTED, student=student.subject))
        clock.advance(timedelta(minutes=1))

    async def five() -> bool:
        return (await client.inbox(student)).unread_count == 5

    await eventually(five, limit=30, what=lambda: "5 inbox items")
    first = await client.inbox(student, page_size=2)
    second = await client.inbox(student, page_size=2, page_token=first.next_page_token)
    third = await client.inbox(student, page_size=2, page_token=second.next_page_token)
    pages = [first, second, third]
    ids = [n.id for page in pages for n in page.notifications]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    assert third.next_page_token == ""
    times = [n.create_time.ToDatetime() for page in pages for n in page.notifications]
    assert times == sorted(times, reverse=True), "newest first"
    assert first.notifications[0].title == "You are shortlisted"

    marked = await client.call(
        "MarkRead", s.MarkReadRequest(user_id=student.subject, notification_ids=ids[:2]), student
    )
    assert marked.unread_count == 3
    assert all(n.read and n.HasField("read_time") for n in marked.notifications)
    unread = await client.inbox(student, unread_only=True)
    assert sorted(n.id for n in unread.notifications) == sorted(ids[2:])
    assert unread.unread_count == 3


async def test_nobody_marks_another_users_notification(
    client: NotificationsClient, feed: EventFeed
) -> None:
    student, other = new_student(), new_student()
    await feed.publish(build_event(SHORTLISTED, student=student.subject))

    async def arrived() -> bool:
        return len((await client.inbox(student)).notifications) == 1

    await eventually(arrived, limit=30, what=lambda: "inbox item")
    (item,) = (await client.inbox(student)).notifications
    request = s.MarkReadRequest(user_id=other.subject, notification_ids=[item.id])
    assert await client.code_of("MarkRead", request, other) == grpc.StatusCode.NOT_FOUND
    assert (await client.inbox(student)).unread_count == 1


@pytest.mark.parametrize(
    ("field", "request_"),
    [
        ("page_token", s.ListNotificationsRequest(user_id="u", page_token="garbage")),
        ("page_size", s.ListNotificationsRequest(user_id="u", page_size=101)),
    ],
)
async def test_bad_paging_is_invalid_argument(
    client: NotificationsClient, field: str, request_: s.ListNotificationsRequest
) -> None:
    student = new_student()
    request_.user_id = student.subject
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.call("ListNotifications", request_, student)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")
