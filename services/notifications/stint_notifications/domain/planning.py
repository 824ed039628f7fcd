"""From one event and its recipients' preferences to inbox items and pending deliveries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from stint_notifications.domain.channels import Category, Channel
from stint_notifications.domain.deliveries import delivery_id, webhook_delivery_id
from stint_notifications.domain.facts import Message
from stint_notifications.domain.preferences import Preferences, defaults
from stint_notifications.domain.webhooks import Webhook


@dataclass(frozen=True)
class InboxItem:
    id: str
    user_id: str
    event_id: str
    event_type: str
    title: str
    body: str
    create_time: datetime


@dataclass(frozen=True)
class PlannedDelivery:
    """A message to send later on one channel; webhook payloads are fixed now (stable id)."""

    id: str
    channel: Channel
    recipient_id: str
    event_id: str
    event_type: str
    notification_id: str
    title: str
    body: str
    webhook_id: str = ""
    payload: str = ""
    template: str = "notification"
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    inbox: list[InboxItem] = field(default_factory=list)
    deliveries: list[PlannedDelivery] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.inbox.extend(other.inbox)
        self.deliveries.extend(other.deliveries)


@dataclass(frozen=True)
class Notice:
    """One event's message to a set of users (and the webhooks that may receive it)."""

    key: str
    event_type: str
    category: Category
    message: Message
    now: datetime
    payload: str = ""
    template: str = "notification"
    values: Mapping[str, str] = field(default_factory=dict)


def plan_for_users(
    notice: Notice,
    user_ids: Sequence[str],
    preferences: Mapping[str, Preferences],
    reachable_by_email: frozenset[str],
    user_webhooks: Sequence[Webhook] = (),
    *,
    email: bool = True,
) -> Plan:
    """Inbox items, emails and the users' own webhooks, as each user's preferences allow."""
    plan = Plan()
    hooks_by_owner: dict[str, list[Webhook]] = {}
    for hook in user_webhooks:
        hooks_by_owner.setdefault(hook.owner_id, []).append(hook)
    for user_id in dict.fromkeys(user_ids):
        if not user_id:
            continue
        prefs = preferences.get(user_id) or defaults(user_id)
        channels = prefs.channels_for(notice.category, notice.event_type)
        notification_id = f"{notice.key}:{user_id}"
        if Channel.IN_APP in channels:
            plan.inbox.append(
                InboxItem(
                    notification_id,
                    user_id,
                    notice.key,
                    notice.event_type,
                    notice.message.title,
                    notice.message.body,
                    notice.now,
                )
            )
        if email and Channel.EMAIL in channels and user_id in reachable_by_email:
            plan.deliveries.append(_delivery(notice, Channel.EMAIL, user_id, notification_id))
        if Channel.WEBHOOK in channels:
            for hook in hooks_by_owner.get(user_id, []):
                if hook.wants(notice.event_type):
                    plan.deliveries.append(_webhook_delivery(notice, hook, notification_id))
    return plan


def plan_for_org_webhooks(notice: Notice, org_webhooks: Sequence[Webhook]) -> Plan:
    """An organisation's integrations get every event about it that their filter names."""
    plan = Plan()
    for hook in org_webhooks:
        if hook.wants(notice.event_type):
            plan.deliveries.append(_webhook_delivery(notice, hook, f"{notice.key}:{hook.owner_id}"))
    return plan


def _delivery(
    notice: Notice, channel: Channel, user_id: str, notification_id: str
) -> PlannedDelivery:
    return PlannedDelivery(
        id=delivery_id(notice.key, user_id, channel),
        channel=channel,
        recipient_id=user_id,
        event_id=notice.key,
        event_type=notice.event_type,
        notification_id=notification_id,
        title=notice.message.title,
        body=notice.message.body,
        template=notice.template,
        values=notice.values,
    )


def _webhook_delivery(notice: Notice, hook: Webhook, notification_id: str) -> PlannedDelivery:
    return PlannedDelivery(
        id=webhook_delivery_id(notice.key, hook.id),
        channel=Channel.WEBHOOK,
        recipient_id=hook.owner_id,
        event_id=notice.key,
        event_type=notice.event_type,
        notification_id=notification_id,
        title=notice.message.title,
        body=notice.message.body,
        webhook_id=hook.id,
        payload=notice.payload,
    )
