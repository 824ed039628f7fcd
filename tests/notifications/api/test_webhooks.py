"""Signed webhooks: a generated whsec_ secret shown once, CloudEvents JSON verified by a local
receiver with `standardwebhooks`, 500 then 200 -> delivered once, SSRF targets refused, an
endpoint failing for days disabled and its owner told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from pymongo.database import Database
from stint.notifications.v1 import service_pb2 as s
from stint_notifications.domain.deliveries import Status
from stint_notifications.domain.webhooks import new_secret
from stint_notifications.entrypoints.app import NotificationsService
from stint_runtime.clock import ManualClock

from tests.notifications.events import build_event
from tests.notifications.kit import (
    EventFeed,
    Mailbox,
    NotificationsClient,
    eventually,
    new_employer,
    new_org,
    new_student,
)
from tests.notifications.receiver import Receiver, running

pytestmark = pytest.mark.integration

SUBMITTED = "stint.applications.v1.ApplicationSubmitted"
EXPIRED = "stint.applications.v1.ApplicationExpired"


async def settled(db: Database[Any], delivery_id: str, status: Status, attempt: int) -> None:
    async def reached() -> bool:
        doc = db["deliveries"].find_one({"_id": delivery_id})
        return doc is not None and doc["status"] == status and doc["attempt"] == attempt

    await eventually(reached, limit=30, what=lambda: f"{delivery_id} {status} #{attempt}")


async def test_500_then_200_is_delivered_once_with_a_verified_signature(
    client: NotificationsClient,
    feed: EventFeed,
    db: Database[Any],
    clock: ManualClock,
    service: NotificationsService,
) -> None:
    org = new_org()
    employer = new_employer(org)
    with running(Receiver(script=[500, 200])) as receiver:
        response = await client.webhook(employer, org, receiver.url, SUBMITTED)
        receiver.secret = response.secret
        assert response.secret.startswith("whsec_")
        assert response.webhook.active
        assert response.secret not in str(response.webhook)
        event_id = await feed.publish(build_event(SUBMITTED, org=org))
        delivery_id = f"{event_id}:{response.webhook.id}:webhook"
        await settled(db, delivery_id, Status.PENDING, 1)
        assert [r.status for r in receiver.received] == [500]
        clock.advance(timedelta(seconds=5))
        assert service.dispatcher is not None
        service.dispatcher.wake()
        await settled(db, delivery_id, Status.DELIVERED, 2)
        assert [r.status for r in receiver.received] == [500, 200]
        assert all(r.verified for r in receiver.received)
        assert {r.webhook_id for r in receiver.received} == {delivery_id}
        (delivered,) = receiver.delivered()
        cloud_event = delivered.body
        assert cloud_event["specversion"] == "1.0"
        assert cloud_event["id"] == event_id
        assert cloud_event["type"] == SUBMITTED
        assert cloud_event["data"]["application"]["employer_org_id"] == org
        clock.advance(timedelta(days=1))
        service.dispatcher.wake()
        await feed.publish(build_event(EXPIRED, org=org))  # not in the endpoint's filter
        assert len(receiver.received) == 2


async def test_a_callers_secret_signs_and_a_bad_one_is_refused(
    client: NotificationsClient, feed: EventFeed, db: Database[Any]
) -> None:
    student = new_student()
    secret = new_secret()
    with running(Receiver(secret=secret)) as receiver:
        response = await client.webhook(student, student.subject, receiver.url, secret=secret)
        assert response.secret == "", "a caller's own secret is never echoed"
        await feed.publish(build_event(EXPIRED, student=student.subject))

        async def arrived() -> bool:
            return len(receiver.delivered()) == 1

        await eventually(arrived, limit=30, what=lambda: f"delivery: {receiver.received}")
    request = s.RegisterWebhookRequest(
        owner_id=student.subject, url="http://127.0.0.1:9/h", secret="x" * 20
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.call("RegisterWebhook", request, student)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "secret" in (caught.value.details() or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://192.168.1.20:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_ssrf_targets_are_refused(client: NotificationsClient, url: str) -> None:
    student = new_student()
    request = s.RegisterWebhookRequest(owner_id=student.subject, url=url)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.call("RegisterWebhook", request, student)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "url" in (caught.value.details() or "")


async def test_loopback_is_allowed_in_development(client: NotificationsClient) -> None:
    student = new_student()
    for url in ("http://127.0.0.1:9/h", "http://localhost:9/h", "http://[::1]:9/h"):
        response = await client.webhook(student, student.subject, url)
        assert response.webhook.active


async def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_told(
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
    clock: ManualClock,
    service: NotificationsService,
) -> None:
    student = new_student()
    await client.register(student)
    with running(Receiver(script=[503])) as receiver:
        response = await client.webhook(student, student.subject, receiver.url, EXPIRED)
        receiver.secret = response.secret
        event_id = await feed.publish(build_event(EXPIRED, student=student.subject))
        delivery_id = f"{event_id}:{response.webhook.id}:webhook"
        await settled(db, delivery_id, Status.PENDING, 1)
        clock.advance(timedelta(days=5, seconds=5))
        assert service.dispatcher is not None
        service.dispatcher.wake()
        await settled(db, delivery_id, Status.FAILED, 2)
        hook = db["webhooks"].find_one({"_id": response.webhook.id}) or {}
        assert hook["active"] is False
        assert "failing since" in hook["disabled_reason"]
        messages = await mailbox.wait_for(student.email, 2)
        subjects = sorted(str(m["Subject"]) for m in messages)
        assert "Webhook endpoint disabled" in subjects
        inbox = await client.inbox(student)
        assert "Webhook endpoint disabled" in [n.title for n in inbox.notifications]
        await feed.publish(build_event(EXPIRED, student=student.subject))
        await mailbox.wait_for(student.email, 3)
        assert len(receiver.received) == 2, "a disabled endpoint gets nothing more"
