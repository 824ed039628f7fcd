"""A delivery's life: claimed, sent outside any transaction, its outcome committed after.

Each step is one unit of work; the send between the claim and the outcome is not. Events carry
the recipient's user id and the channel, never an address or a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from stint.notifications.v1 import events_pb2
from stint_runtime.persistence.timers import TIMERS, set_timer, timer_due_at

from stint_notifications.adapters.contracts import CHANNELS
from stint_notifications.adapters.repository import DELIVERIES, MongoStore
from stint_notifications.domain.channels import Category, Channel
from stint_notifications.domain.deliveries import ATTEMPT_TIMER, LEASE_TIMER, Status
from stint_notifications.domain.facts import message_of
from stint_notifications.domain.recipients import WEBHOOK_DISABLED
from stint_notifications.domain.webhooks import should_disable
from stint_notifications.service_layer.handlers import Context, notify_users

WEBHOOK_DISABLED_TYPE = "stint.notifications.v1.WebhookDisabled"
UNKNOWN_OUTCOME = "outcome unknown: the sender stopped before recording it"


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retry schedules per channel and when failing endpoints are disabled."""

    email_retries: Sequence[timedelta]
    webhook_retries: Sequence[timedelta]
    lease: timedelta = timedelta(minutes=5)
    disable_webhook_after: timedelta = timedelta(days=5)

    def retry_after(self, channel: Channel, attempt: int) -> timedelta | None:
        schedule = self.webhook_retries if channel is Channel.WEBHOOK else self.email_retries
        return schedule[attempt - 1] if attempt <= len(schedule) else None


@dataclass(frozen=True)
class Claim:
    """A delivery taken for one send attempt, with what sending needs (kept in memory only)."""

    id: str
    channel: Channel
    recipient_id: str
    event_id: str
    event_type: str
    notification_id: str
    attempt: int
    title: str
    body: str
    template: str
    values: Mapping[str, str] = field(default_factory=dict)
    webhook_id: str = ""
    payload: str = ""
    trace: Mapping[str, str] = field(default_factory=dict)
    email: str = field(default="", repr=False)
    display_name: str = field(default="", repr=False)
    url: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    error: str = ""
    permanent: bool = False


def due_delivery_ids(store: MongoStore, now: datetime, limit: int) -> list[str]:
    found = (
        store.db[DELIVERIES]
        .find(
            {
                "status": Status.PENDING.value,
                TIMERS: {"$elemMatch": {"name": ATTEMPT_TIMER, "due_at": {"$lte": now}}},
            },
            projection={"_id": 1},
            session=store.session,
        )
        .limit(limit)
    )
    return [doc["_id"] for doc in found]


def _event_fields(doc: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    return {
        "notification_id": doc["notification_id"],
        "recipient_id": doc["recipient_id"],
        "channel": CHANNELS[Channel(doc["channel"])],
        "webhook_id": doc["webhook_id"],
        "source_event_id": doc["event_id"],
        "source_event_type": doc["event_type"],
        "attempt": attempt,
    }


def _fail_now(store: MongoStore, doc: Mapping[str, Any], error: str, now: datetime) -> None:
    store.db[DELIVERIES].update_one(
        {"_id": doc["_id"]},
        {
            "$set": {
                "status": Status.FAILED.value,
                "last_error": error,
                "update_time": now,
                TIMERS: [],
            }
        },
        session=store.session,
    )
    store.uow.emit(
        events_pb2.NotificationFailed(
            **_event_fields(doc, int(doc["attempt"])), error=error, will_retry=False
        ),
        subject=doc["_id"],
    )


def claim(
    delivery_id: str, store: MongoStore, ctx: Context, policy: DeliveryPolicy
) -> Claim | None:
    """Take a due delivery for one attempt (SENDING, lease set); None if it is not due."""
    now = ctx.now()
    doc = store.db[DELIVERIES].find_one({"_id": delivery_id}, session=store.session)
    if doc is None or doc["status"] != Status.PENDING.value:
        return None
    due_at = timer_due_at(doc, ATTEMPT_TIMER)
    if due_at is None or due_at > now:
        return None
    channel = Channel(doc["channel"])
    target: dict[str, str] = {}
    if channel is Channel.EMAIL:
        contact = store.contact(doc["recipient_id"])
        prefs = store.preferences([doc["recipient_id"]]).get(doc["recipient_id"])
        if contact is None:
            _fail_now(store, doc, "no contact address", now)
            return None
        if prefs is not None and prefs.email_unsubscribed:
            _fail_now(store, doc, "recipient unsubscribed", now)
            return None
        target = {"email": contact.email, "display_name": contact.display_name}
    elif channel is Channel.WEBHOOK:
        hook = store.webhook(doc["webhook_id"])
        if hook is None or not hook.active:
            _fail_now(store, doc, "endpoint disabled", now)
            return None
        target = {"url": hook.url, "secret": hook.secret}
    attempt = int(doc["attempt"]) + 1
    lease: dict[str, Any] = {TIMERS: []}
    set_timer(lease, LEASE_TIMER, now + policy.lease)
    taken = store.db[DELIVERIES].update_one(
        {"_id": delivery_id, "status": Status.PENDING.value, "attempt": attempt - 1},
        {
            "$set": {
                "status": Status.SENDING.value,
                "attempt": attempt,
                "update_time": now,
                TIMERS: lease[TIMERS],
            }
        },
        session=store.session,
    )
    if taken.modified_count != 1:
        return None  # another dispatcher took it first
    return Claim(
        id=delivery_id,
        channel=channel,
        recipient_id=doc["recipient_id"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        notification_id=doc["notification_id"],
        attempt=attempt,
        title=doc["title"],
        body=doc["body"],
        template=doc.get("template", "notification"),
        values=doc.get("values", {}),
        webhook_id=doc["webhook_id"],
        payload=doc.get("payload", ""),
        trace=doc.get("trace", {}),
        **target,
    )


def record_outcome(
    sent: Claim, outcome: Outcome, store: MongoStore, ctx: Context, policy: DeliveryPolicy
) -> None:
    """Commit what the send did; only the claim's own attempt may be settled."""
    now = ctx.now()
    doc = store.db[DELIVERIES].find_one(
        {"_id": sent.id, "status": Status.SENDING.value, "attempt": sent.attempt},
        session=store.session,
    )
    if doc is None:
        return  # the lease lapsed and the attempt was settled as unknown meanwhile
    fields = _event_fields(doc, sent.attempt)
    if outcome.delivered:
        store.db[DELIVERIES].update_one(
            {"_id": sent.id},
            {"$set": {"status": Status.DELIVERED.value, "update_time": now, TIMERS: []}},
            session=store.session,
        )
        store.uow.emit(events_pb2.NotificationDelivered(**fields), subject=sent.id)
        if sent.channel is Channel.WEBHOOK:
            _webhook_recovered(sent.webhook_id, store)
        return
    disabled = sent.channel is Channel.WEBHOOK and _webhook_failing(
        sent.webhook_id, now, store, ctx, policy
    )
    wait = None
    if not (outcome.permanent or disabled):
        wait = policy.retry_after(sent.channel, sent.attempt)
    changes: dict[str, Any] = {"last_error": outcome.error, "update_time": now, TIMERS: []}
    if wait is None:
        changes["status"] = Status.FAILED.value
    else:
        changes["status"] = Status.PENDING.value
        set_timer(changes, ATTEMPT_TIMER, now + wait)
    store.db[DELIVERIES].update_one({"_id": sent.id}, {"$set": changes}, session=store.session)
    store.uow.emit(
        events_pb2.NotificationFailed(**fields, error=outcome.error, will_retry=wait is not None),
        subject=sent.id,
    )


def lease_expired(delivery_id: str, store: MongoStore, ctx: Context) -> None:
    """A claim whose outcome never came: failed for good (never sent twice)."""
    doc = store.db[DELIVERIES].find_one(
        {"_id": delivery_id, "status": Status.SENDING.value}, session=store.session
    )
    if doc is not None:
        _fail_now(store, doc, UNKNOWN_OUTCOME, ctx.now())


def _webhook_recovered(webhook_id: str, store: MongoStore) -> None:
    hook = store.webhook(webhook_id)
    if hook is not None and hook.failing_since is not None:
        store.save_webhook(replace(hook, failing_since=None))


def _webhook_failing(
    webhook_id: str, now: datetime, store: MongoStore, ctx: Context, policy: DeliveryPolicy
) -> bool:
    """Remember since when an endpoint fails; disable it and tell its owner after long enough.

    True when the endpoint is (now) disabled.
    """
    hook = store.webhook(webhook_id)
    if hook is None or not hook.active:
        return True
    if hook.failing_since is None:
        store.save_webhook(replace(hook, failing_since=now))
        return False
    if not should_disable(hook.failing_since, now, policy.disable_webhook_after):
        return False
    since = hook.failing_since.strftime("%Y-%m-%d %H:%M UTC")
    reason = f"failing since {since}"
    store.save_webhook(replace(hook, active=False, disabled_reason=reason))
    # The owner is a user, or an organisation whose employer contacts hear it.
    owners = [hook.owner_id]
    if store.contact(hook.owner_id) is None:
        owners = store.org_member_ids(hook.owner_id) or owners
    message = message_of(WEBHOOK_DISABLED, {"webhook_id": hook.id, "failing_since": since})
    notify_users(
        f"webhook-disabled-{hook.id}",
        WEBHOOK_DISABLED_TYPE,
        Category.ACCOUNT,
        message.title,
        message.body,
        owners,
        store,
        ctx,
    )
    return True
