"""Durable timers fired by the running service as its clock moves (a ManualClock here; the
restart case runs the real process in tests/applications/process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.database import Database
from stint_runtime.clock import ManualClock

from tests.applications.api.kit import (
    DAY,
    EMPLOYER,
    ApplicationsClient,
    AppStatus,
    Engagement,
    EngStatus,
    EventFeed,
    Who,
    new_student,
    published_events,
)
from tests.applications.builders import NOW
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


Sentinel = tuple[Engagement, Who]


async def sentinel_engagements(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> list[Sentinel]:
    """Two active engagements for full_scan, on a listing due ten days after the others."""
    now = clock.now()
    clock.set(now + 10 * DAY)
    listing = await feed.published(seats=2)
    students = [new_student(), new_student()]
    sentinels = [(await client.engaged(listing.id, who), who) for who in students]
    clock.set(now)
    return sentinels


async def full_scan(
    client: ApplicationsClient, clock: ManualClock, sentinels: list[Sentinel], at: datetime
) -> None:
    """Move the clock to `at`; return once the engagement timer scanner finished a pass there.

    A sentinel submitted seven days and a minute before is auto-approved in a pass that read it
    after it was stored; a second one, submitted once the first was approved, in a later pass,
    so the pass that would fire anything else due by `at` (in due order) is over.
    """
    for engagement, student in sentinels:
        clock.set(at - 7 * DAY - MINUTE)
        await client.submit(engagement, student)
        clock.set(at)
        await client.wait_engagement(engagement.id, EngStatus.ENGAGEMENT_STATUS_AUTO_APPROVED)


async def test_auto_approval_counts_from_the_last_submission(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published(seats=2)
    student, sentinel_student = new_student(), new_student()
    first = await client.submit(await client.engaged(listing.id, student), student)
    sentinel = await client.submit(
        await client.engaged(listing.id, sentinel_student), sentinel_student
    )
    assert first.deadline_time.ToDatetime(tzinfo=UTC) == NOW + 7 * DAY

    revising = await client.revise(first)
    # No auto-approval while the student revises: the revision window's lapse is the deadline.
    assert revising.deadline_time.ToDatetime(tzinfo=UTC) == NOW + 7 * DAY
    clock.set(NOW + 5 * DAY)
    resubmitted = await client.submit(revising, student)
    assert resubmitted.deadline_time.ToDatetime(tzinfo=UTC) == NOW + 12 * DAY

    # Past the first submission's deadline: the sentinel, submitted once, is auto-approved by
    # the same scanner that leaves the resubmitted engagement alone.
    clock.set(NOW + 7 * DAY + HOUR)
    await client.wait_engagement(sentinel.id, EngStatus.ENGAGEMENT_STATUS_AUTO_APPROVED)
    waiting = await client.get_engagement(resubmitted.id)
    assert waiting.status == EngStatus.ENGAGEMENT_STATUS_SUBMITTED

    clock.set(NOW + 12 * DAY + HOUR)
    approved = await client.wait_engagement(
        resubmitted.id, EngStatus.ENGAGEMENT_STATUS_AUTO_APPROVED
    )
    assert approved.payout_percent == 100
    events = await published_events(client.settings.kafka_bootstrap_servers, approved.id, 5)
    assert events[-1] == "DeliverableApproved"


async def test_an_application_without_a_decision_expires_and_says_so(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    ignored = await client.apply(listing.id, new_student())
    assert ignored.decide_by_time.ToDatetime(tzinfo=UTC) == NOW + 7 * DAY
    decided = await client.offered(listing.id, new_student())

    clock.set(NOW + 7 * DAY + HOUR)
    expired = await client.wait_application(ignored.id, AppStatus.APPLICATION_STATUS_EXPIRED)
    assert expired.reason
    lapsed = await client.get_application(decided.id)
    assert (lapsed.status, lapsed.reason) == (
        AppStatus.APPLICATION_STATUS_EXPIRED,
        "offer lapsed",
    ), "an offer runs on its own 3-day clock, not the employer's response SLA"
    events = await published_events(client.settings.kafka_bootstrap_servers, ignored.id, 2)
    assert events == ["ApplicationSubmitted", "ApplicationExpired"]


async def test_an_engagement_with_no_submission_expires_after_due_date_and_grace(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock, db: Database[Any]
) -> None:
    listing = await feed.published(seats=1)
    idle = await client.engaged(listing.id, new_student())
    due = idle.due_date.ToDatetime(tzinfo=UTC)
    assert idle.deadline_time.ToDatetime(tzinfo=UTC) == due + 3 * DAY

    sentinels = await sentinel_engagements(client, feed, clock)

    # A later offer could not outlive 23 days (offers lapse after 3), so the seat is read from
    # the seats the service counts.
    def holders() -> list[str]:
        document = db["seats"].find_one({"_id": listing.id})
        assert document is not None
        return list(document["holders"])

    await full_scan(client, clock, sentinels, at=due + 3 * DAY - HOUR)
    assert (await client.get_engagement(idle.id)).status == EngStatus.ENGAGEMENT_STATUS_ACTIVE
    assert holders() == [idle.id]

    clock.set(due + 3 * DAY + HOUR)
    expired = await client.wait_engagement(idle.id, EngStatus.ENGAGEMENT_STATUS_EXPIRED)
    assert not expired.HasField("deadline_time")
    events = await published_events(client.settings.kafka_bootstrap_servers, idle.id, 2)
    assert events == ["EngagementStarted", "EngagementExpired"]
    # The expired engagement freed its seat for the next offer.
    assert holders() == []


async def test_one_sided_feedback_is_published_when_the_window_ends(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    student = new_student()
    approved = await client.approve(
        await client.submit(await client.engaged(listing.id, student), student)
    )
    await client.feedback(approved, student, rating=2)

    hidden = await client.get_engagement(approved.id, EMPLOYER)
    assert not hidden.feedback

    clock.set(NOW + 14 * DAY + HOUR)

    async def published() -> bool:
        return (await client.get_engagement(approved.id, EMPLOYER)).feedback_published

    await eventually(published, limit=20, what=lambda: f"feedback of {approved.id} published")
    public = await client.get_engagement(approved.id, EMPLOYER)
    assert [f.rating for f in public.feedback] == [2]
