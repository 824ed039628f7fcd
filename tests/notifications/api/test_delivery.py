"""Email deliveries: at most once per (event, recipient, channel) across redelivery, retries
with backoff on the injectable clock, a lost outcome never resent, preferences honoured, and no
address in any log line or event."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import trace
from pymongo.database import Database
from stint.notifications.v1 import events_pb2 as notification_events
from stint.notifications.v1 import resources_pb2 as r
from stint.topics import NOTIFICATIONS
from stint_notifications.adapters.repository import delivery_doc
from stint_notifications.domain.channels import Channel
from stint_notifications.domain.deliveries import LEASE_TIMER, Status
from stint_notifications.domain.planning import PlannedDelivery
from stint_notifications.entrypoints.app import NotificationsService
from stint_notifications.service_layer.delivery import UNKNOWN_OUTCOME
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import decode_envelope, unpack
from stint_runtime.persistence.timers import TIMERS, set_timer

from tests.notifications.events import build_event
from tests.notifications.kit import (
    EventFeed,
    FaultySender,
    Mailbox,
    NotificationsClient,
    Who,
    eventually,
    new_student,
)
from tests.support.messaging_kit import read_topic

pytestmark = pytest.mark.integration

EXPIRED = "stint.applications.v1.ApplicationExpired"
OFFER = "stint.applications.v1.OfferExtended"


def outbox_events(db: Database[Any], subject_prefix: str) -> list[Any]:
    found = db["outbox"].find({"key": {"$regex": f"^{subject_prefix}"}}).sort("order", 1)
    return [unpack(decode_envelope(doc["envelope"])) for doc in found]


async def wait_status(db: Database[Any], delivery_id: str, status: Status, attempt: int) -> None:
    async def reached() -> bool:
        doc = db["deliveries"].find_one({"_id": delivery_id})
        return doc is not None and doc["status"] == status and doc["attempt"] == attempt

    await eventually(
        reached,
        limit=30,
        what=lambda: (
            f"{delivery_id} {status} #{attempt}: {db['deliveries'].find_one({'_id': delivery_id})}"
        ),
    )


async def test_a_redelivered_event_sends_nothing_twice(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox, db: Database[Any]
) -> None:
    student = new_student()
    await client.register(student)
    await feed.publish(build_event(EXPIRED, student=student.subject))
    await mailbox.wait_for(student.email, 1)
    await feed.republish(feed.sent[-1])
    await feed.republish(feed.sent[-1])
    # Same key, same partition: once the marker is handled, so are the redeliveries.
    await feed.publish(build_event(OFFER, student=student.subject))
    messages = await mailbox.wait_for(student.email, 2)
    assert sorted(m["X-Stint-Event-Type"] for m in messages) == [EXPIRED, OFFER]
    assert db["notifications"].count_documents({"user_id": student.subject}) == 2


async def test_preferences_and_unsubscribe_are_honoured(
    client: NotificationsClient, feed: EventFeed, mailbox: Mailbox, db: Database[Any]
) -> None:
    in_app_only, email_for_applications, unsubscribed, muted = (new_student() for _ in range(4))
    for who in (in_app_only, email_for_applications, unsubscribed, muted):
        await client.register(who)
    await client.preferences(in_app_only, channels=[r.CHANNEL_IN_APP])
    await client.preferences(
        email_for_applications,
        channels=[r.CHANNEL_IN_APP, r.CHANNEL_EMAIL],
        categories=[
            r.CategoryChannels(category=r.CATEGORY_APPLICATIONS, channels=[r.CHANNEL_EMAIL])
        ],
    )
    await client.preferences(
        unsubscribed, channels=[r.CHANNEL_IN_APP, r.CHANNEL_EMAIL], email_unsubscribed=True
    )
    await client.preferences(muted, channels=[r.CHANNEL_EMAIL], muted_event_types=[EXPIRED])
    ids = {}
    for who in (in_app_only, email_for_applications, unsubscribed, muted):
        ids[who.subject] = await feed.publish(build_event(EXPIRED, student=who.subject))
    await feed.publish(build_event(OFFER, student=muted.subject))
    await mailbox.wait_for(email_for_applications.email, 1)
    await mailbox.wait_for(muted.email, 1)  # the marker, not the muted event

    def told(who: Who) -> set[str]:
        event_id = ids[who.subject]
        inbox = {"in_app" for _ in db["notifications"].find({"event_id": event_id})}
        sent = {d["channel"] for d in db["deliveries"].find({"event_id": event_id})}
        return inbox | sent

    assert told(in_app_only) == {"in_app"}
    assert told(email_for_applications) == {"email"}
    assert told(unsubscribed) == {"in_app"}
    assert told(muted) == set()
    assert [m["X-Stint-Event-Type"] for m in mailbox.to(muted.email)] == [OFFER]
    assert mailbox.to(in_app_only.email) == []
    assert mailbox.to(unsubscribed.email) == []


async def test_a_transient_smtp_failure_is_retried_after_the_backoff(
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
    faults: FaultySender,
    clock: ManualClock,
    service: NotificationsService,
) -> None:
    student = new_student()
    await client.register(student)
    faults.failing[student.subject] = 1
    event_id = await feed.publish(build_event(EXPIRED, student=student.subject))
    delivery_id = f"{event_id}:{student.subject}:email"
    await wait_status(db, delivery_id, Status.PENDING, 1)
    assert mailbox.to(student.email) == []
    clock.advance(timedelta(seconds=59))
    assert service.dispatcher is not None
    service.dispatcher.wake()
    assert (db["deliveries"].find_one({"_id": delivery_id}) or {}).get("attempt") == 1
    clock.advance(timedelta(seconds=2))
    service.dispatcher.wake()
    await mailbox.wait_for(student.email, 1)
    await wait_status(db, delivery_id, Status.DELIVERED, 2)
    events = outbox_events(db, delivery_id)
    assert [type(e).__name__ for e in events] == ["NotificationFailed", "NotificationDelivered"]
    failed, delivered = events
    assert failed.will_retry
    assert failed.error == "smtp 451"
    assert delivered.recipient_id == student.subject
    assert delivered.channel == r.CHANNEL_EMAIL
    assert delivered.attempt == 2
    assert faults.attempts[delivery_id] == 2


async def test_a_send_whose_outcome_was_lost_is_never_repeated(
    client: NotificationsClient,
    mailbox: Mailbox,
    db: Database[Any],
    clock: ManualClock,
    config: Any,
) -> None:
    """A sender that died after claiming leaves SENDING behind: it fails, it is not resent."""
    student = new_student()
    await client.register(student)
    planned = PlannedDelivery(
        id=f"crashed:{student.subject}:email",
        channel=Channel.EMAIL,
        recipient_id=student.subject,
        event_id="crashed",
        event_type=EXPIRED,
        notification_id=f"crashed:{student.subject}",
        title="T",
        body="B",
    )
    doc = delivery_doc(planned, clock.now())
    doc.update(status=Status.SENDING.value, attempt=1)
    doc[TIMERS] = []
    set_timer(doc, LEASE_TIMER, clock.now() + timedelta(seconds=config.delivery_lease_seconds))
    db["deliveries"].insert_one(doc)
    clock.advance(timedelta(seconds=config.delivery_lease_seconds + 1))
    await wait_status(db, planned.id, Status.FAILED, 1)
    settled = db["deliveries"].find_one({"_id": planned.id}) or {}
    assert settled.get("last_error") == UNKNOWN_OUTCOME
    (failed,) = outbox_events(db, planned.id)
    assert isinstance(failed, notification_events.NotificationFailed)
    assert not failed.will_retry
    clock.advance(timedelta(days=1))
    assert mailbox.to(student.email) == []


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def logs() -> Iterator[Collect]:
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def test_no_address_in_any_log_line_or_event(
    client: NotificationsClient,
    feed: EventFeed,
    mailbox: Mailbox,
    db: Database[Any],
    faults: FaultySender,
    clock: ManualClock,
    service: NotificationsService,
    logs: Collect,
) -> None:
    student = new_student()
    await client.register(student, name="Grace")
    faults.failing[student.subject] = 1
    event_id = await feed.publish(build_event(EXPIRED, student=student.subject))
    delivery_id = f"{event_id}:{student.subject}:email"
    await wait_status(db, delivery_id, Status.PENDING, 1)
    clock.advance(timedelta(minutes=2))
    assert service.dispatcher is not None
    service.dispatcher.wake()
    await mailbox.wait_for(student.email, 1)
    await wait_status(db, delivery_id, Status.DELIVERED, 2)

    def delivered(records: list[Any]) -> bool:
        return any(rec.key == delivery_id.encode() for rec in records)

    records = await read_topic(
        service.settings.kafka_bootstrap_servers, NOTIFICATIONS, until=delivered
    )
    ours = [rec for rec in records if rec.key == delivery_id.encode()]
    assert len(ours) == 2
    for record in ours:
        assert student.email.encode() not in record.value
        assert b"example.org" not in record.value
        event_json = json_format.MessageToJson(unpack(decode_envelope(record.value)))
        assert "@" not in event_json
        assert all(b"example.org" not in value for _, value in record.headers)
    assert logs.lines, "the flow logs something"
    assert not [line for line in logs.lines if student.email in line or "@example.org" in line]


async def test_the_outcome_event_continues_the_trace_of_its_cause(
    client: NotificationsClient, feed: EventFeed, db: Database[Any]
) -> None:
    student = new_student()
    await client.register(student)
    with trace.get_tracer("test").start_as_current_span("gateway call") as span:
        event_id = await feed.publish(build_event(EXPIRED, student=student.subject))
        trace_id = format(span.get_span_context().trace_id, "032x")
    delivery_id = f"{event_id}:{student.subject}:email"
    await wait_status(db, delivery_id, Status.DELIVERED, 1)
    (record,) = list(db["outbox"].find({"key": delivery_id}))
    envelope = decode_envelope(record["envelope"])
    assert envelope.type == "stint.notifications.v1.NotificationDelivered"
    assert envelope.traceparent.split("-")[1] == trace_id
