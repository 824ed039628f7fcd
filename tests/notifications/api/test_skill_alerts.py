"""Skill alerts: SubscribeSkills; ListingPublished fans out in batches to matching students,
once per listing; daily digests gather the alerts of digest subscribers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pymongo.database import Database
from stint.common.v1 import money_pb2
from stint.notifications.v1 import resources_pb2 as r
from stint.notifications.v1 import service_pb2 as s
from stint_notifications.adapters.repository import subscription_doc
from stint_notifications.domain.deliveries import alert_key
from stint_notifications.domain.skills import subscription
from stint_notifications.entrypoints.app import NotificationsService
from stint_runtime.clock import ManualClock

from tests.notifications.events import NOW, build_event
from tests.notifications.kit import (
    EventFeed,
    Mailbox,
    NotificationsClient,
    eventually,
    new_student,
)

pytestmark = pytest.mark.integration

PUBLISHED = "stint.listings.v1.ListingPublished"


async def fanout_done(db: Database[Any], listing_id: str) -> None:
    async def done() -> bool:
        job = db["fanouts"].find_one({"_id": listing_id})
        return job is not None and job["done"]

    await eventually(done, limit=60, what=lambda: f"fan-out of {listing_id}")


async def test_subscribe_skills_replaces_and_empty_unsubscribes(
    client: NotificationsClient, db: Database[Any]
) -> None:
    student = new_student()
    request = s.SubscribeSkillsRequest(
        user_id=student.subject,
        skills=["Python", "SQL"],
        industry="Software",
        remote_only=True,
        min_fee=money_pb2.Money(amount_minor=10_000, currency="EUR"),
    )
    sub = (await client.call("SubscribeSkills", request, student)).subscription
    assert list(sub.skills) == ["python", "sql"]
    assert sub.min_fee.amount_minor == 10_000
    assert db["skill_subscriptions"].find_one({"_id": student.subject}) is not None
    empty = s.SubscribeSkillsRequest(user_id=student.subject)
    await client.call("SubscribeSkills", empty, student)
    assert db["skill_subscriptions"].find_one({"_id": student.subject}) is None


async def test_a_published_listing_alerts_each_matching_student_once(
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
    service: NotificationsService,
) -> None:
    tag = new_student().subject
    skill = f"skill-{tag}"
    matching = [f"{tag}-m{i:03d}" for i in range(30)]
    others = [f"{tag}-o{i:03d}" for i in range(90)]
    docs = [subscription_doc(subscription(u, [skill], "", False, None, NOW)) for u in matching]
    docs += [subscription_doc(subscription(u, ["cobol"], "", False, None, NOW)) for u in others]
    db["skill_subscriptions"].insert_many(docs)
    reader = new_student()
    await client.register(reader)
    await client.call(
        "SubscribeSkills", s.SubscribeSkillsRequest(user_id=reader.subject, skills=[skill]), reader
    )
    listing_id = f"lst-{tag}"
    event = build_event(PUBLISHED, listing_id=listing_id, skills=(skill.upper(),), title="Bot")
    await feed.publish(event, subject=listing_id)
    await fanout_done(db, listing_id)
    alerted = [d["user_id"] for d in db["notifications"].find({"event_id": alert_key(listing_id)})]
    assert sorted(alerted) == sorted([*matching, reader.subject])
    (email,) = await mailbox.wait_for(reader.email, 1)
    assert email["X-Stint-Event-Type"] == PUBLISHED
    # Published again (a new event about the same listing): nobody is alerted twice.
    await feed.publish(event, subject=listing_id)
    await feed.publish(
        build_event("stint.applications.v1.OfferExtended", student=reader.subject),
        subject=listing_id,
    )
    await mailbox.wait_for(reader.email, 2)
    assert db["notifications"].count_documents({"event_id": alert_key(listing_id)}) == 31
    assert [m["X-Stint-Event-Type"] for m in mailbox.to(reader.email)].count(PUBLISHED) == 1


async def test_digest_subscribers_get_one_email_a_day(
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
    clock: ManualClock,
    service: NotificationsService,
) -> None:
    student = new_student()
    skill = f"skill-{student.subject}"
    await client.register(student)
    await client.preferences(
        student,
        channels=[r.CHANNEL_IN_APP, r.CHANNEL_EMAIL],
        skill_alerts=r.SKILL_ALERT_FREQUENCY_DAILY_DIGEST,
    )
    await client.call(
        "SubscribeSkills",
        s.SubscribeSkillsRequest(user_id=student.subject, skills=[skill]),
        student,
    )
    for n in range(2):
        listing_id = f"lst-{student.subject}-{n}"
        await feed.publish(
            build_event(PUBLISHED, listing_id=listing_id, skills=(skill,), title=f"Project {n}"),
            subject=listing_id,
        )
        await fanout_done(db, listing_id)
    assert (await client.inbox(student)).unread_count == 2
    assert mailbox.to(student.email) == []
    clock.advance(timedelta(hours=24, seconds=1))
    (digest,) = await mailbox.wait_for(student.email, 1)
    assert digest["Subject"] == "Your daily project digest"
    text = digest.get_body(("plain",))
    assert text is not None
    assert "Project 0" in text.get_content()
    assert "Project 1" in text.get_content()
