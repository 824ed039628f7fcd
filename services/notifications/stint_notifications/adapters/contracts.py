"""Protobuf events and resources to and from the domain (the only module that knows them)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.common.v1 import money_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint.notifications.v1 import resources_pb2 as r
from stint.payouts.v1 import events_pb2 as payouts_events
from stint_runtime.proto_values import money, money_from, timestamp
from stint_runtime.values import Money

from stint_notifications.domain.channels import Category, Channel, SkillAlertFrequency
from stint_notifications.domain.contacts import Contact
from stint_notifications.domain.facts import EventFacts, Party
from stint_notifications.domain.planning import InboxItem
from stint_notifications.domain.preferences import Preferences
from stint_notifications.domain.skills import ListingSummary, SkillSubscription, skill_key
from stint_notifications.domain.webhooks import Webhook

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX"})

CHANNELS = {
    Channel.EMAIL: r.CHANNEL_EMAIL,
    Channel.IN_APP: r.CHANNEL_IN_APP,
    Channel.WEBHOOK: r.CHANNEL_WEBHOOK,
}
CHANNELS_BACK = {v: k for k, v in CHANNELS.items()}
CATEGORIES = {
    Category.APPLICATIONS: r.CATEGORY_APPLICATIONS,
    Category.ENGAGEMENTS: r.CATEGORY_ENGAGEMENTS,
    Category.PAYOUTS: r.CATEGORY_PAYOUTS,
    Category.LISTINGS: r.CATEGORY_LISTINGS,
    Category.SKILL_ALERTS: r.CATEGORY_SKILL_ALERTS,
    Category.OPERATIONS: r.CATEGORY_OPERATIONS,
    Category.ACCOUNT: r.CATEGORY_ACCOUNT,
}
CATEGORIES_BACK = {v: k for k, v in CATEGORIES.items()}
FREQUENCIES = {
    SkillAlertFrequency.IMMEDIATE: r.SKILL_ALERT_FREQUENCY_IMMEDIATE,
    SkillAlertFrequency.DAILY_DIGEST: r.SKILL_ALERT_FREQUENCY_DAILY_DIGEST,
    SkillAlertFrequency.OFF: r.SKILL_ALERT_FREQUENCY_OFF,
}
FREQUENCIES_BACK = {v: k for k, v in FREQUENCIES.items()}
AUTHORS = {
    applications_resources.PARTY_STUDENT: Party.STUDENT,
    applications_resources.PARTY_EMPLOYER: Party.EMPLOYER,
    applications_resources.PARTY_PLATFORM: Party.PLATFORM,
}


def amount_text(money: Money) -> str:
    """ "12.50 EUR": minor units shown with the currency's decimals."""
    if money.currency in ZERO_DECIMAL_CURRENCIES:
        return f"{money.amount_minor} {money.currency}"
    whole, cents = divmod(abs(money.amount_minor), 100)
    sign = "-" if money.amount_minor < 0 else ""
    return f"{sign}{whole}.{cents:02d} {money.currency}"


def _money_or_none(message: money_pb2.Money, present: bool) -> Money | None:
    return money_from(message) if present and message.currency else None


def facts_of(event: ProtoMessage, envelope: EventEnvelope) -> EventFacts:
    """The ids and message values of any consumed event (listings, applications, payouts)."""
    base: dict[str, Any] = {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "subject": envelope.subject,
        "source": envelope.source,
    }
    values: dict[str, str] = {}
    reason = getattr(event, "reason", "")
    if reason:
        values["reason"] = reason
    if isinstance(event, _LISTING_EVENTS):
        listing = event.listing
        values["listing"] = listing.title or event.listing_id
        return EventFacts(
            **base,
            org_id=listing.employer_org_id,
            creator_id=listing.created_by,
            listing_id=event.listing_id,
            values={**values, "reason": reason or listing.moderation_reason},
        )
    if isinstance(event, applications_events.MessagePosted):
        values["listing"] = event.listing_id
        thread = {"application_id": event.application_id, "engagement_id": event.engagement_id}
        values.update({name: value for name, value in thread.items() if value})
        return EventFacts(
            **base,
            student_id=event.student_id,
            org_id=event.employer_org_id,
            listing_id=event.listing_id,
            author=AUTHORS.get(event.author),
            values=values,
        )
    if isinstance(event, applications_events.StudentInvited):
        invitation = event.invitation
        values["listing"] = invitation.listing_id
        return EventFacts(
            **base,
            student_id=invitation.student_id,
            org_id=invitation.employer_org_id,
            listing_id=invitation.listing_id,
            values=values,
        )
    if isinstance(event, _APPLICATION_EVENTS):
        application = event.application
        values["listing"] = application.listing_id
        values["application_id"] = event.application_id
        return EventFacts(
            **base,
            student_id=application.student_id,
            org_id=application.employer_org_id,
            listing_id=application.listing_id,
            values={**values, "reason": reason or application.reason},
        )
    if isinstance(event, _ENGAGEMENT_EVENTS):
        engagement = event.engagement
        values["listing"] = engagement.listing_title or engagement.listing_id
        values["engagement_id"] = event.engagement_id
        if isinstance(event, applications_events.DisputeResolved):
            values["payout_percent"] = str(event.payout_percent)
        if isinstance(event, applications_events.EngagementCompleted):
            values["completion_record_id"] = event.completion_record_id
        return EventFacts(
            **base,
            student_id=engagement.student_id,
            org_id=engagement.employer_org_id,
            listing_id=engagement.listing_id,
            values=values,
        )
    if isinstance(event, _PAYOUT_EVENTS):
        payout = event.payout
        values["payout_id"] = event.payout_id
        values["engagement_id"] = payout.engagement_id
        values["listing"] = payout.listing_id
        amount = _money_or_none(payout.amount, payout.HasField("amount"))
        if amount is not None:
            values["amount"] = amount_text(amount)
        return EventFacts(
            **base,
            student_id=payout.student_id,
            org_id=payout.employer_org_id,
            listing_id=payout.listing_id,
            values={**values, "reason": reason or payout.failure_reason},
        )
    if isinstance(event, (payouts_events.EscrowFunded, payouts_events.EscrowRefunded)):
        values["engagement_id"] = event.engagement_id
        money = event.amount if isinstance(event, payouts_events.EscrowRefunded) else event.fee
        if money.currency:
            values["amount"] = amount_text(money_from(money))
        return EventFacts(**base, org_id=event.employer_org_id, values=values)
    return EventFacts(**base, values=values)


_LISTING_EVENTS = tuple(
    getattr(listings_events, name) for name in listings_events.DESCRIPTOR.message_types_by_name
)
_APPLICATION_EVENTS = tuple(
    getattr(applications_events, name)
    for name, descriptor in applications_events.DESCRIPTOR.message_types_by_name.items()
    if "application" in descriptor.fields_by_name
)
_ENGAGEMENT_EVENTS = tuple(
    getattr(applications_events, name)
    for name, descriptor in applications_events.DESCRIPTOR.message_types_by_name.items()
    if "engagement" in descriptor.fields_by_name
)
_PAYOUT_EVENTS = tuple(
    getattr(payouts_events, name)
    for name, descriptor in payouts_events.DESCRIPTOR.message_types_by_name.items()
    if "payout" in descriptor.fields_by_name
)


def listing_summary(event: listings_events.ListingPublished) -> ListingSummary:
    listing = event.listing
    return ListingSummary(
        listing_id=event.listing_id,
        title=listing.title or event.listing_id,
        skills=frozenset(skill_key(s) for s in listing.skills),
        industry=skill_key(listing.industry),
        remote=listing.remote,
        fee=_money_or_none(listing.fee, listing.HasField("fee")),
    )


def cloudevent_json(event: ProtoMessage, envelope: EventEnvelope) -> str:
    """The event as a CloudEvents 1.0 JSON document (structured mode), data as proto JSON."""
    document = {
        "specversion": "1.0",
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "subject": envelope.subject,
        "time": envelope.time.ToJsonString(),
        "datacontenttype": "application/json",
        "dataschema": envelope.data_schema,
        "data": json_format.MessageToDict(event, preserving_proto_field_name=True),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def channels_of(values: Iterable[int]) -> frozenset[Channel]:
    return frozenset(CHANNELS_BACK[r.Channel.ValueType(v)] for v in values if v in CHANNELS_BACK)


def contact_message(contact: Contact) -> r.Contact:
    return r.Contact(
        user_id=contact.user_id,
        email=contact.email,
        display_name=contact.display_name,
        role=contact.role,
        org_id=contact.org_id,
        create_time=timestamp(contact.create_time),
        update_time=timestamp(contact.update_time),
    )


def preferences_message(prefs: Preferences) -> r.Preferences:
    return r.Preferences(
        user_id=prefs.user_id,
        channels=sorted(CHANNELS[c] for c in prefs.channels),
        muted_event_types=sorted(prefs.muted_event_types),
        update_time=timestamp(prefs.update_time),
        categories=[
            r.CategoryChannels(
                category=CATEGORIES[category], channels=sorted(CHANNELS[c] for c in channels)
            )
            for category, channels in sorted(prefs.categories.items())
        ],
        skill_alerts=FREQUENCIES[prefs.skill_alerts],
        email_unsubscribed=prefs.email_unsubscribed,
    )


def subscription_message(sub: SkillSubscription) -> r.SkillSubscription:
    message = r.SkillSubscription(
        user_id=sub.user_id,
        skills=sorted(sub.skills),
        industry=sub.industry,
        remote_only=sub.remote_only,
        update_time=timestamp(sub.update_time),
    )
    if sub.min_fee is not None:
        message.min_fee.CopyFrom(money(sub.min_fee))
    return message


def webhook_message(hook: Webhook) -> r.Webhook:
    return r.Webhook(
        id=hook.id,
        owner_id=hook.owner_id,
        url=hook.url,
        event_types=sorted(hook.event_types),
        active=hook.active,
        create_time=timestamp(hook.create_time),
        disabled_reason=hook.disabled_reason,
    )


def notification_message(item: InboxItem, read_time: Any) -> r.Notification:
    return r.Notification(
        id=item.id,
        user_id=item.user_id,
        event_id=item.event_id,
        event_type=item.event_type,
        title=item.title,
        body=item.body,
        read=read_time is not None,
        create_time=timestamp(item.create_time),
        read_time=timestamp(read_time),
    )
