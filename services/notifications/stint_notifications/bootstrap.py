"""The composition root: use cases over MongoDB units of work, consumers, timers and senders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Protocol, TypeVar

from google.protobuf.message import Message
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint_runtime.messaging.subscriber import Handler as EventHandler
from stint_runtime.persistence.timers import TimerHandler
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.settings import StintSettings

from stint_notifications.adapters import contracts
from stint_notifications.adapters.email import SmtpConfig, SmtpSender
from stint_notifications.adapters.repository import (
    DELIVERIES,
    DIGESTS,
    FANOUTS,
    MongoStore,
    ensure_indexes,
)
from stint_notifications.adapters.webhooks import HttpWebhookSender, resolve
from stint_notifications.config import NotificationsSettings
from stint_notifications.domain.deliveries import LEASE_TIMER
from stint_notifications.domain.recipients import RECIPIENTS
from stint_notifications.service_layer import delivery, handlers
from stint_notifications.service_layer.delivery import Claim, DeliveryPolicy, Outcome
from stint_notifications.service_layer.handlers import (
    DIGEST_TIMER,
    FANOUT_TIMER,
    Context,
    Resolver,
)

C = TypeVar("C")
R = TypeVar("R")
SOURCE = "notifications"
LISTING_PUBLISHED = listings_events.ListingPublished.DESCRIPTOR.full_name


class Sender(Protocol):
    async def send(self, claim: Claim) -> Outcome: ...


class NotificationsApp:
    """Runs each use case in its own unit of work; consumers and timers run in theirs."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        context: Context,
        policy: DeliveryPolicy,
        senders: Mapping[str, Sender],
        settings: NotificationsSettings,
    ) -> None:
        self.uow_factory = uow_factory
        self.context = context
        self.policy = policy
        self.senders = dict(senders)
        self.settings = settings

    def run(self, handler: Callable[[C, MongoStore, Context], R], message: C) -> R:
        return self.uow_factory.run(lambda uow: handler(message, MongoStore(uow), self.context))

    def event_handlers(self) -> Mapping[str, EventHandler]:
        """Every event type of the recipient table (listings, applications, payouts)."""

        def on_event(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            store = MongoStore(uow)
            facts = contracts.facts_of(event, envelope)
            payload = contracts.cloudevent_json(event, envelope)
            if isinstance(event, listings_events.ListingPublished):
                listing = contracts.listing_summary(event)
                handlers.start_fanout(listing, facts, payload, store, self.context)
                return
            title = facts.values.get("listing", "")
            if facts.listing_id and title != facts.listing_id:
                handlers.record_listing(facts.listing_id, title, store)
            handlers.notify(facts, payload, store, self.context)

        listing_events = [
            descriptor.full_name
            for descriptor in listings_events.DESCRIPTOR.message_types_by_name.values()
        ]
        return {event_type: on_event for event_type in [*RECIPIENTS, *listing_events]}

    def timer_handlers(self) -> Mapping[str, Mapping[str, TimerHandler]]:
        def fanout(uow: UnitOfWork, listing_id: str, name: str) -> None:
            handlers.fanout_step(listing_id, MongoStore(uow), self.context)

        def digest(uow: UnitOfWork, user_id: str, name: str) -> None:
            handlers.send_digest(user_id, MongoStore(uow), self.context)

        def lease(uow: UnitOfWork, delivery_id: str, name: str) -> None:
            delivery.lease_expired(delivery_id, MongoStore(uow), self.context)

        return {
            FANOUTS: {FANOUT_TIMER: fanout},
            DIGESTS: {DIGEST_TIMER: digest},
            DELIVERIES: {LEASE_TIMER: lease},
        }

    # ---- the delivery steps the dispatcher runs ----------------------------------------------

    def due(self, limit: int) -> list[str]:
        return self.uow_factory.run(
            lambda uow: delivery.due_delivery_ids(MongoStore(uow), self.context.now(), limit)
        )

    def claim(self, delivery_id: str) -> Claim | None:
        return self.uow_factory.run(
            lambda uow: delivery.claim(delivery_id, MongoStore(uow), self.context, self.policy)
        )

    def settle(self, claim: Claim, outcome: Outcome) -> None:
        self.uow_factory.run(
            lambda uow: delivery.record_outcome(
                claim, outcome, MongoStore(uow), self.context, self.policy
            )
        )


def bootstrap_units(
    units: UnitOfWorkFactory,
    runtime_settings: StintSettings,
    settings: NotificationsSettings | None = None,
    *,
    resolver: Resolver = resolve,
    senders: Mapping[str, Sender] | None = None,
) -> NotificationsApp:
    """The app over the database of `units` (the service runtime's, which the relay watches)."""
    settings = settings or NotificationsSettings()
    ensure_indexes(units.db)
    targets = settings.targets(runtime_settings.environment)
    context = Context(
        clock=units.clock,
        resolve=resolver,
        targets=targets,
        default_page_size=settings.default_page_size,
        fanout_batch=settings.fanout_batch,
        digest_delay=timedelta(hours=settings.digest_delay_hours),
    )
    smtp = SmtpConfig(
        host=runtime_settings.smtp_host,
        port=runtime_settings.smtp_port,
        sender=settings.email_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        timeout=settings.smtp_timeout_seconds,
    )
    default_senders: dict[str, Sender] = {
        "email": SmtpSender(smtp),
        "webhook": HttpWebhookSender(targets, settings.webhook_timeout_seconds),
    }
    return NotificationsApp(
        units, context, settings.delivery_policy(), senders or default_senders, settings
    )
