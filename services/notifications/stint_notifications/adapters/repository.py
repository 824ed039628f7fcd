"""MongoDB documents of the notifications service, read and written inside a unit of work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database
from stint_runtime.messaging.envelope import current_trace_carrier
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.pages import fetch_page
from stint_runtime.persistence.timers import TIMERS, ensure_timer_index, set_timer
from stint_runtime.persistence.unit_of_work import UnitOfWork
from stint_runtime.values import Money

from stint_notifications.domain.channels import Category, Channel, SkillAlertFrequency
from stint_notifications.domain.contacts import Contact
from stint_notifications.domain.deliveries import ATTEMPT_TIMER, Status
from stint_notifications.domain.planning import InboxItem, Plan, PlannedDelivery
from stint_notifications.domain.preferences import Preferences
from stint_notifications.domain.skills import ListingSummary, SkillSubscription
from stint_notifications.domain.webhooks import Webhook

CONTACTS = "contacts"
PREFERENCES = "preferences"
SUBSCRIPTIONS = "skill_subscriptions"
WEBHOOKS = "webhooks"
NOTIFICATIONS = "notifications"
DELIVERIES = "deliveries"
FANOUTS = "fanouts"
DIGESTS = "digests"
LISTINGS = "listings"


def ensure_indexes(db: Database[Document]) -> None:
    db[CONTACTS].create_index([("org_id", ASCENDING)], name="org")
    db[CONTACTS].create_index([("role", ASCENDING)], name="role")
    db[WEBHOOKS].create_index([("owner_id", ASCENDING)], name="owner")
    db[NOTIFICATIONS].create_index(
        [("user_id", ASCENDING), ("create_time", DESCENDING), ("_id", DESCENDING)], name="inbox"
    )
    for timed in (DELIVERIES, FANOUTS, DIGESTS):
        ensure_timer_index(db[timed])


def _money_doc(money: Money | None) -> Document | None:
    if money is None:
        return None
    return {"amount_minor": money.amount_minor, "currency": money.currency}


def _money(doc: Mapping[str, Any] | None) -> Money | None:
    return None if doc is None else Money(int(doc["amount_minor"]), str(doc["currency"]))


def contact_of(doc: Mapping[str, Any]) -> Contact:
    return Contact(
        user_id=doc["_id"],
        email=doc["email"],
        display_name=doc.get("display_name", ""),
        role=doc.get("role", ""),
        org_id=doc.get("org_id", ""),
        create_time=doc["create_time"],
        update_time=doc["update_time"],
    )


def preferences_of(doc: Mapping[str, Any]) -> Preferences:
    return Preferences(
        user_id=doc["_id"],
        channels=frozenset(Channel(c) for c in doc["channels"]),
        categories={
            Category(name): frozenset(Channel(c) for c in channels)
            for name, channels in doc.get("categories", {}).items()
        },
        muted_event_types=frozenset(doc.get("muted_event_types", [])),
        skill_alerts=SkillAlertFrequency(doc.get("skill_alerts", "immediate")),
        email_unsubscribed=bool(doc.get("email_unsubscribed", False)),
        update_time=doc.get("update_time"),
    )


def subscription_of(doc: Mapping[str, Any]) -> SkillSubscription:
    return SkillSubscription(
        user_id=doc["_id"],
        skills=frozenset(doc["skills"]),
        industry=doc.get("industry", ""),
        remote_only=bool(doc.get("remote_only", False)),
        min_fee=_money(doc.get("min_fee")),
        update_time=doc.get("update_time"),
    )


def subscription_doc(sub: SkillSubscription) -> Document:
    return {
        "_id": sub.user_id,
        "skills": sorted(sub.skills),
        "industry": sub.industry,
        "remote_only": sub.remote_only,
        "min_fee": _money_doc(sub.min_fee),
        "update_time": sub.update_time,
    }


def webhook_of(doc: Mapping[str, Any]) -> Webhook:
    return Webhook(
        id=doc["_id"],
        owner_id=doc["owner_id"],
        url=doc["url"],
        event_types=frozenset(doc.get("event_types", [])),
        secret=doc["secret"],
        active=bool(doc["active"]),
        create_time=doc["create_time"],
        failing_since=doc.get("failing_since"),
        disabled_reason=doc.get("disabled_reason", ""),
    )


def inbox_item_of(doc: Mapping[str, Any]) -> InboxItem:
    return InboxItem(
        id=doc["_id"],
        user_id=doc["user_id"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        title=doc["title"],
        body=doc["body"],
        create_time=doc["create_time"],
    )


def listing_doc(listing: ListingSummary) -> Document:
    return {
        "listing_id": listing.listing_id,
        "title": listing.title,
        "skills": sorted(listing.skills),
        "industry": listing.industry,
        "remote": listing.remote,
        "fee": _money_doc(listing.fee),
    }


def listing_of(doc: Mapping[str, Any]) -> ListingSummary:
    return ListingSummary(
        listing_id=doc["listing_id"],
        title=doc["title"],
        skills=frozenset(doc["skills"]),
        industry=doc["industry"],
        remote=bool(doc["remote"]),
        fee=_money(doc.get("fee")),
    )


def delivery_doc(delivery: PlannedDelivery, now: datetime) -> Document:
    doc: Document = {
        "_id": delivery.id,
        "channel": delivery.channel.value,
        "recipient_id": delivery.recipient_id,
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "notification_id": delivery.notification_id,
        "title": delivery.title,
        "body": delivery.body,
        "template": delivery.template,
        "values": dict(delivery.values),
        "payload": delivery.payload,
        "status": Status.PENDING.value,
        "attempt": 0,
        # The trace of the event that caused it: sends and their outcome events continue it.
        "trace": current_trace_carrier(),
        "last_error": "",
        "create_time": now,
        "update_time": now,
        TIMERS: [],
    }
    set_timer(doc, ATTEMPT_TIMER, now)
    return doc


class MongoStore:
    """Repositories over one unit of work (every read and write uses its session)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.db = uow.db
        self.session = uow.session

    # ---- contacts ----------------------------------------------------------------------------

    def contact(self, user_id: str) -> Contact | None:
        doc = self.db[CONTACTS].find_one({"_id": user_id}, session=self.session)
        return None if doc is None else contact_of(doc)

    def save_contact(self, contact: Contact) -> None:
        self.db[CONTACTS].replace_one(
            {"_id": contact.user_id},
            {
                "_id": contact.user_id,
                "email": contact.email,
                "display_name": contact.display_name,
                "role": contact.role,
                "org_id": contact.org_id,
                "create_time": contact.create_time,
                "update_time": contact.update_time,
            },
            upsert=True,
            session=self.session,
        )

    def contacts(self, user_ids: Iterable[str]) -> dict[str, Contact]:
        found = self.db[CONTACTS].find({"_id": {"$in": list(user_ids)}}, session=self.session)
        return {doc["_id"]: contact_of(doc) for doc in found}

    def contact_ids(self, user_ids: Iterable[str]) -> frozenset[str]:
        found = self.db[CONTACTS].find(
            {"_id": {"$in": list(user_ids)}}, projection={"_id": 1}, session=self.session
        )
        return frozenset(doc["_id"] for doc in found)

    def org_member_ids(self, org_id: str) -> list[str]:
        if not org_id:
            return []
        found = self.db[CONTACTS].find(
            {"org_id": org_id, "role": "employer"}, projection={"_id": 1}, session=self.session
        )
        return sorted(doc["_id"] for doc in found)

    def admin_ids(self) -> list[str]:
        found = self.db[CONTACTS].find(
            {"role": "admin"}, projection={"_id": 1}, session=self.session
        )
        return sorted(doc["_id"] for doc in found)

    # ---- preferences and skill subscriptions -------------------------------------------------

    def preferences(self, user_ids: Iterable[str]) -> dict[str, Preferences]:
        found = self.db[PREFERENCES].find({"_id": {"$in": list(user_ids)}}, session=self.session)
        return {doc["_id"]: preferences_of(doc) for doc in found}

    def save_preferences(self, prefs: Preferences) -> None:
        self.db[PREFERENCES].replace_one(
            {"_id": prefs.user_id},
            {
                "_id": prefs.user_id,
                "channels": sorted(c.value for c in prefs.channels),
                "categories": {
                    category.value: sorted(c.value for c in channels)
                    for category, channels in prefs.categories.items()
                },
                "muted_event_types": sorted(prefs.muted_event_types),
                "skill_alerts": prefs.skill_alerts.value,
                "email_unsubscribed": prefs.email_unsubscribed,
                "update_time": prefs.update_time,
            },
            upsert=True,
            session=self.session,
        )

    def save_subscription(self, sub: SkillSubscription) -> None:
        if not sub.skills:
            self.db[SUBSCRIPTIONS].delete_one({"_id": sub.user_id}, session=self.session)
            return
        self.db[SUBSCRIPTIONS].replace_one(
            {"_id": sub.user_id}, subscription_doc(sub), upsert=True, session=self.session
        )

    def subscriptions_after(self, cursor: str, limit: int) -> list[SkillSubscription]:
        """The next `limit` subscriptions in user id order after `cursor` (a fan-out batch)."""
        found = (
            self.db[SUBSCRIPTIONS]
            .find({"_id": {"$gt": cursor}}, session=self.session)
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [subscription_of(doc) for doc in found]

    # ---- webhooks ----------------------------------------------------------------------------

    def save_webhook(self, hook: Webhook) -> None:
        self.db[WEBHOOKS].replace_one(
            {"_id": hook.id},
            {
                "_id": hook.id,
                "owner_id": hook.owner_id,
                "url": hook.url,
                "event_types": sorted(hook.event_types),
                "secret": hook.secret,
                "active": hook.active,
                "create_time": hook.create_time,
                "failing_since": hook.failing_since,
                "disabled_reason": hook.disabled_reason,
            },
            upsert=True,
            session=self.session,
        )

    def webhook(self, webhook_id: str) -> Webhook | None:
        doc = self.db[WEBHOOKS].find_one({"_id": webhook_id}, session=self.session)
        return None if doc is None else webhook_of(doc)

    def webhooks_of(self, owner_ids: Iterable[str]) -> list[Webhook]:
        owners = [o for o in owner_ids if o]
        if not owners:
            return []
        found = self.db[WEBHOOKS].find(
            {"owner_id": {"$in": owners}, "active": True}, session=self.session
        )
        return sorted((webhook_of(doc) for doc in found), key=lambda h: h.id)

    # ---- inbox and deliveries ----------------------------------------------------------------

    def add(self, plan: Plan, now: datetime) -> None:
        """Store a plan's inbox items and pending deliveries (first attempt due now)."""
        if plan.inbox:
            self.db[NOTIFICATIONS].insert_many(
                [
                    {
                        "_id": item.id,
                        "user_id": item.user_id,
                        "event_id": item.event_id,
                        "event_type": item.event_type,
                        "title": item.title,
                        "body": item.body,
                        "create_time": item.create_time,
                        "read_time": None,
                    }
                    for item in plan.inbox
                ],
                session=self.session,
            )
        if plan.deliveries:
            self.db[DELIVERIES].insert_many(
                [delivery_doc(d, now) for d in plan.deliveries], session=self.session
            )

    def inbox_page(
        self, user_id: str, unread_only: bool, size: int, token: str
    ) -> tuple[list[tuple[InboxItem, datetime | None]], str]:
        query: Document = {"user_id": user_id}
        if unread_only:
            query["read_time"] = None
        return fetch_page(
            self.db[NOTIFICATIONS],
            query,
            "create_time",
            size,
            token,
            session=self.session,
            load=lambda doc: (inbox_item_of(doc), doc.get("read_time")),
        )

    def unread_count(self, user_id: str) -> int:
        return self.db[NOTIFICATIONS].count_documents(
            {"user_id": user_id, "read_time": None}, session=self.session
        )

    def mark_read(
        self, user_id: str, ids: Sequence[str], now: datetime
    ) -> list[tuple[InboxItem, datetime | None]]:
        self.db[NOTIFICATIONS].update_many(
            {"_id": {"$in": list(ids)}, "user_id": user_id, "read_time": None},
            {"$set": {"read_time": now}},
            session=self.session,
        )
        found = self.db[NOTIFICATIONS].find(
            {"_id": {"$in": list(ids)}, "user_id": user_id}, session=self.session
        )
        return [(inbox_item_of(doc), doc.get("read_time")) for doc in found]

    # ---- listings known from listings.v1 -----------------------------------------------------

    def record_listing_title(self, listing_id: str, title: str) -> None:
        if listing_id and title:
            self.db[LISTINGS].update_one(
                {"_id": listing_id}, {"$set": {"title": title}}, upsert=True, session=self.session
            )

    def listing_title(self, listing_id: str) -> str | None:
        doc = self.db[LISTINGS].find_one({"_id": listing_id}, session=self.session)
        return None if doc is None else str(doc["title"])

    # ---- fan-out jobs and digests ------------------------------------------------------------

    def fanout(self, listing_id: str) -> Document | None:
        return self.db[FANOUTS].find_one({"_id": listing_id}, session=self.session)

    def insert_fanout(self, doc: Document) -> None:
        self.db[FANOUTS].insert_one(doc, session=self.session)

    def update_fanout(self, listing_id: str, changes: Document) -> None:
        self.db[FANOUTS].update_one({"_id": listing_id}, {"$set": changes}, session=self.session)

    def add_to_digests(self, user_ids: Sequence[str], item: Document, due: datetime) -> None:
        """Queue one listing in each user's digest; a digest's timer is set by its first item."""
        if not user_ids:
            return
        collection = self.db[DIGESTS]
        collection.update_many(
            {"_id": {"$in": list(user_ids)}},
            {"$push": {"items": item}},
            session=self.session,
        )
        have = {
            doc["_id"]
            for doc in collection.find(
                {"_id": {"$in": list(user_ids)}}, projection={"_id": 1}, session=self.session
            )
        }
        fresh = [u for u in user_ids if u not in have]
        if fresh:
            docs: list[Document] = []
            for user_id in fresh:
                doc: Document = {"_id": user_id, "items": [item], TIMERS: []}
                set_timer(doc, "send", due)
                docs.append(doc)
            collection.insert_many(docs, session=self.session)

    def take_digest(self, user_id: str) -> list[Document]:
        doc = self.db[DIGESTS].find_one_and_delete({"_id": user_id}, session=self.session)
        return [] if doc is None else list(doc.get("items", []))
