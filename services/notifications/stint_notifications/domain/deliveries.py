"""One delivery per (event, recipient, channel): sent at most once, outcome recorded after.

A delivery is claimed (SENDING, attempt n) in one write, sent outside any transaction, and its
outcome committed afterwards. A process that dies between the claim and the outcome leaves it
SENDING; when its lease lapses it becomes FAILED ("outcome unknown") and is never sent again:
a possible loss is preferred to a duplicate.
"""

from __future__ import annotations

from enum import StrEnum

from stint_notifications.domain.channels import Channel

ATTEMPT_TIMER = "attempt"
LEASE_TIMER = "lease"


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


def delivery_id(event_id: str, recipient_id: str, channel: Channel) -> str:
    return f"{event_id}:{recipient_id}:{channel.value}"


def webhook_delivery_id(event_id: str, webhook_id: str) -> str:
    return f"{event_id}:{webhook_id}:{Channel.WEBHOOK.value}"


def alert_key(listing_id: str) -> str:
    """The event key of skill alerts: one per listing, whatever event announced it."""
    return f"alert-{listing_id}"
