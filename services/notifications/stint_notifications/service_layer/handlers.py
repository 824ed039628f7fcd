"""One plain function per RPC, consumed event and timer; each runs inside a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stint_runtime.clock import Clock
from stint_runtime.errors import InvalidArgument, NotFound, PermissionDenied
from stint_runtime.persistence.pages import page_size
from stint_runtime.persistence.timers import TIMERS, set_timer
from stint_runtime.values import Actor, at_millis

from stint_notifications.adapters.repository import MongoStore, listing_doc, listing_of
from stint_notifications.domain import commands as c
from stint_notifications.domain.channels import Category, Channel
from stint_notifications.domain.contacts import Contact
from stint_notifications.domain.contacts import register_contact as new_contact
from stint_notifications.domain.deliveries import alert_key
from stint_notifications.domain.facts import EventFacts, Message, message_of
from stint_notifications.domain.planning import (
    InboxItem,
    Notice,
    Plan,
    plan_for_org_webhooks,
    plan_for_users,
)
from stint_notifications.domain.preferences import Preferences, defaults
from stint_notifications.domain.recipients import DIGEST, Audience, route_for
from stint_notifications.domain.skills import ListingSummary, SkillSubscription, subscription
from stint_notifications.domain.webhooks import (
    IPAddress,
    TargetPolicy,
    Webhook,
    checked_secret,
    new_secret,
    url_host,
)
from stint_notifications.service_layer.audiences import audience_user_ids, reaches_org

FANOUT_TIMER = "step"
DIGEST_TIMER = "send"
Resolver = Callable[[str], list[IPAddress]]


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Context:
    clock: Clock
    resolve: Resolver
    targets: TargetPolicy = field(default_factory=TargetPolicy)
    default_page_size: int = 20
    fanout_batch: int = 500
    digest_delay: timedelta = timedelta(days=1)
    new_id: Callable[[], str] = _new_id

    def now(self) -> datetime:
        return at_millis(self.clock.now())


def own(actor: Actor, user_id: str) -> None:
    """Contacts, preferences, alerts and inboxes are their own user's only."""
    if actor.role is None or actor.subject != user_id:
        raise PermissionDenied("only the user themselves may do this")


# ---- RPCs --------------------------------------------------------------------------------------


def register_contact(cmd: c.RegisterContact, store: MongoStore, ctx: Context) -> Contact:
    own(cmd.actor, cmd.user_id)
    contact = new_contact(
        cmd.actor, cmd.user_id, cmd.email, cmd.display_name, ctx.now(), store.contact(cmd.user_id)
    )
    store.save_contact(contact)
    return contact


def set_preferences(cmd: c.SetPreferences, store: MongoStore, ctx: Context) -> Preferences:
    own(cmd.actor, cmd.user_id)
    prefs = Preferences(
        user_id=cmd.user_id,
        channels=cmd.channels,
        categories=dict(cmd.categories),
        muted_event_types=cmd.muted_event_types,
        skill_alerts=cmd.skill_alerts,
        email_unsubscribed=cmd.email_unsubscribed,
        update_time=ctx.now(),
    )
    store.save_preferences(prefs)
    return prefs


def subscribe_skills(cmd: c.SubscribeSkills, store: MongoStore, ctx: Context) -> SkillSubscription:
    own(cmd.actor, cmd.user_id)
    if cmd.min_fee is not None and cmd.min_fee.amount_minor < 0:
        raise InvalidArgument("min_fee.amount_minor", "must not be negative")
    sub = subscription(
        cmd.user_id, list(cmd.skills), cmd.industry, cmd.remote_only, cmd.min_fee, ctx.now()
    )
    store.save_subscription(sub)
    return sub


def may_own_webhook(actor: Actor, owner_id: str) -> bool:
    return actor.is_admin or actor.subject == owner_id or actor.owns(owner_id)


def register_webhook(
    cmd: c.RegisterWebhook, store: MongoStore, ctx: Context
) -> tuple[Webhook, str]:
    """The endpoint and, when the caller gave none, the secret generated for it (shown once)."""
    if cmd.actor.role is None or not may_own_webhook(cmd.actor, cmd.owner_id):
        raise PermissionDenied("a webhook belongs to its caller, the caller's org, or an admin's")
    _, host, _ = url_host(cmd.url)
    ctx.targets.check(ctx.resolve(host))
    generated = "" if cmd.secret else new_secret()
    hook = Webhook(
        id=ctx.new_id(),
        owner_id=cmd.owner_id,
        url=cmd.url,
        event_types=cmd.event_types,
        secret=checked_secret(cmd.secret) if cmd.secret else generated,
        active=True,
        create_time=ctx.now(),
    )
    store.save_webhook(hook)
    return hook, generated


@dataclass(frozen=True)
class InboxPage:
    items: list[tuple[InboxItem, datetime | None]]
    next_page_token: str
    unread_count: int


def list_notifications(q: c.ListNotifications, store: MongoStore, ctx: Context) -> InboxPage:
    own(q.actor, q.user_id)
    size = page_size(q.page_size, ctx.default_page_size)
    items, token = store.inbox_page(q.user_id, q.unread_only, size, q.page_token)
    return InboxPage(items, token, store.unread_count(q.user_id))


def mark_read(cmd: c.MarkRead, store: MongoStore, ctx: Context) -> InboxPage:
    own(cmd.actor, cmd.user_id)
    items = store.mark_read(cmd.user_id, cmd.notification_ids, ctx.now())
    if len(items) != len(set(cmd.notification_ids)):
        raise NotFound("no such notification in this inbox")
    return InboxPage(items, "", store.unread_count(cmd.user_id))


# ---- consumed events ---------------------------------------------------------------------------


def _values_with_title(facts: EventFacts, store: MongoStore) -> dict[str, str]:
    values = dict(facts.values)
    if facts.listing_id and values.get("listing", facts.listing_id) == facts.listing_id:
        title = store.listing_title(facts.listing_id)
        if title:
            values["listing"] = title
    return values


def notify(facts: EventFacts, payload: str, store: MongoStore, ctx: Context) -> Plan:
    """Inbox items and pending deliveries for one event, per the recipient table."""
    route = route_for(facts.event_type)
    if route is None or Audience.SKILL_SUBSCRIBERS in route.audiences:
        return Plan()
    values = _values_with_title(facts, store)
    users = audience_user_ids(route, facts, store)
    now = ctx.now()
    notice = Notice(
        key=facts.event_id,
        event_type=facts.event_type,
        category=route.category_for(facts.in_engagement),
        message=message_of(route, values),
        now=now,
        payload=payload,
        values=values,
    )
    plan = plan_for_users(
        notice,
        users,
        store.preferences(users),
        store.contact_ids(users),
        store.webhooks_of(users),
    )
    if reaches_org(route, facts):
        plan.extend(plan_for_org_webhooks(notice, store.webhooks_of([facts.org_id])))
    store.add(plan, now)
    return plan


def record_listing(listing_id: str, title: str, store: MongoStore) -> None:
    store.record_listing_title(listing_id, title)


def start_fanout(
    listing: ListingSummary, facts: EventFacts, payload: str, store: MongoStore, ctx: Context
) -> bool:
    """A fan-out job for a newly published listing; False if the listing already had one."""
    store.record_listing_title(listing.listing_id, listing.title)
    if store.fanout(listing.listing_id) is not None:
        return False
    job = {
        "_id": listing.listing_id,
        "listing": listing_doc(listing),
        "event_id": facts.event_id,
        "event_type": facts.event_type,
        "payload": payload,
        "cursor": "",
        "matched": 0,
        "done": False,
        "create_time": ctx.now(),
        TIMERS: [],
    }
    set_timer(job, FANOUT_TIMER, ctx.now())
    store.insert_fanout(job)
    return True


def fanout_step(listing_id: str, store: MongoStore, ctx: Context) -> int:
    """One batch of subscribers after the job's cursor: alerts for the matching ones.

    The alerts and the cursor move commit together, so a crash repeats no batch and skips none.
    """
    job = store.fanout(listing_id)
    if job is None or job["done"]:
        return 0
    listing = listing_of(job["listing"])
    batch = store.subscriptions_after(job["cursor"], ctx.fanout_batch)
    matched = [sub.user_id for sub in batch if sub.matches(listing)]
    now = ctx.now()
    if matched:
        route = route_for(job["event_type"])
        assert route is not None
        values = {"listing": listing.title, "listing_id": listing.listing_id}
        notice = Notice(
            key=alert_key(listing.listing_id),
            event_type=job["event_type"],
            category=Category.SKILL_ALERTS,
            message=message_of(route, values),
            now=now,
            payload=job["payload"],
            template="skill_alert",
            values=values,
        )
        prefs = store.preferences(matched)
        immediate = [u for u in matched if (prefs.get(u) or defaults(u)).alert_email_now()]
        plan = plan_for_users(
            notice, matched, prefs, store.contact_ids(immediate), store.webhooks_of(matched)
        )
        store.add(plan, now)
        digest_users = [
            u
            for u in matched
            if u not in immediate
            and Channel.EMAIL
            in (prefs.get(u) or defaults(u)).channels_for(Category.SKILL_ALERTS, notice.event_type)
        ]
        store.add_to_digests(
            digest_users,
            {"listing_id": listing.listing_id, "title": listing.title},
            now + ctx.digest_delay,
        )
    changes: dict[str, object] = {"matched": job["matched"] + len(matched)}
    if batch:
        changes["cursor"] = batch[-1].user_id
    if len(batch) < ctx.fanout_batch:
        changes["done"] = True
        changes[TIMERS] = []
    else:
        next_step: dict[str, object] = {TIMERS: []}
        set_timer(next_step, FANOUT_TIMER, now)
        changes[TIMERS] = next_step[TIMERS]
    store.update_fanout(listing_id, changes)
    return len(matched)


def send_digest(user_id: str, store: MongoStore, ctx: Context) -> Plan:
    """The daily digest email of the skill alerts gathered for one user."""
    items = store.take_digest(user_id)
    prefs = store.preferences([user_id]).get(user_id) or defaults(user_id)
    if not items or prefs.email_unsubscribed:
        return Plan()
    now = ctx.now()
    titles = [str(item["title"]) for item in items]
    values = {"count": str(len(titles)), "listings": "\n".join(titles)}
    notice = Notice(
        key=f"digest-{user_id}-{int(now.timestamp())}",
        event_type="stint.notifications.v1.SkillAlertDigest",
        category=Category.SKILL_ALERTS,
        message=message_of(DIGEST, values),
        now=now,
        template="digest",
        values=values,
    )
    email_only = Preferences(user_id=user_id, channels=frozenset({Channel.EMAIL}))
    plan = plan_for_users(notice, [user_id], {user_id: email_only}, store.contact_ids([user_id]))
    store.add(plan, now)
    return plan


def notify_users(
    key: str,
    event_type: str,
    category: Category,
    title: str,
    body: str,
    user_ids: Sequence[str],
    store: MongoStore,
    ctx: Context,
) -> Plan:
    """A service notice (not caused by a consumed event) by in-app and email only."""
    now = ctx.now()
    notice = Notice(
        key=key,
        event_type=event_type,
        category=category,
        message=Message(title, body),
        now=now,
    )
    prefs = store.preferences(user_ids)
    plan = plan_for_users(notice, user_ids, prefs, store.contact_ids(user_ids))
    store.add(plan, now)
    return plan
