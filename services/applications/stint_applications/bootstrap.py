"""The composition root: the applications use cases wired to MongoDB, timers and Kafka handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from google.protobuf.message import Message
from stint.applications.v1 import resources_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint.payouts.v1 import events_pb2 as payouts_events
from stint_runtime.clock import Clock
from stint_runtime.messaging.subscriber import Handler as EventHandler
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import TimerHandler
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory

from stint_applications.adapters import contracts
from stint_applications.adapters.repository import (
    APPLICATIONS,
    ENGAGEMENTS,
    MongoStore,
    ensure_indexes,
)
from stint_applications.adapters.signing import CompletionSigner, KeyRing
from stint_applications.config import ApplicationsSettings
from stint_applications.domain import commands as c
from stint_applications.domain.application import OFFER_LAPSE_TIMER, RESPOND_TIMER
from stint_applications.domain.engagement import (
    AUTO_APPROVE_TIMER,
    EXPIRE_TIMER,
    PUBLISH_FEEDBACK_TIMER,
    REVISION_LAPSE_TIMER,
)
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Context
from stint_applications.service_layer.ports import Store

C = TypeVar("C")
R = TypeVar("R")

SOURCE = "applications"
LISTING_EVENTS: tuple[type[Message], ...] = (
    listings_events.ListingSubmitted,
    listings_events.ListingPublished,
    listings_events.ListingApproved,
    listings_events.ListingUpdated,
    listings_events.ListingRejected,
    listings_events.ListingFilled,
    listings_events.ListingReopened,
    listings_events.ListingClosed,
    listings_events.ListingCancelled,
    listings_events.ListingExpired,
)


class ApplicationsApp:
    """Runs each use case in its own unit of work (retried on transient database errors)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        context: Context,
        signer: CompletionSigner,
        keys: KeyRing | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.context = context
        self.signer = signer
        self.keys = keys or KeyRing(signer)

    def run(self, handler: Callable[[C, Store, Context], R], message: C) -> R:
        return self.uow_factory.run(lambda uow: handler(message, MongoStore(uow), self.context))

    def in_unit(self, uow: UnitOfWork, handler: Callable[[C, Store, Context], R], message: C) -> R:
        """Run `handler` inside a unit of work someone else commits (consumers, timers)."""
        return handler(message, MongoStore(uow), self.context)

    def completion_record(self, query: c.GetCompletionRecord) -> resources_pb2.CompletionRecord:
        return self.signer.sign(self.run(handlers.get_completion_record, query))

    def timer_handlers(self) -> Mapping[str, Mapping[str, TimerHandler]]:
        """Per collection (one TimerScanner each), the handler of each timer name."""

        def on(
            handler: Callable[[C, Store, Context], object], command: Callable[[str], C]
        ) -> TimerHandler:
            def fire(uow: UnitOfWork, aggregate_id: str, name: str) -> None:
                self.in_unit(uow, handler, command(aggregate_id))

            return fire

        return {
            APPLICATIONS: {
                RESPOND_TIMER: on(handlers.expire_application, c.ExpireApplication),
                OFFER_LAPSE_TIMER: on(handlers.lapse_offer, c.LapseOffer),
            },
            ENGAGEMENTS: {
                EXPIRE_TIMER: on(handlers.expire_engagement, c.ExpireEngagement),
                AUTO_APPROVE_TIMER: on(handlers.auto_approve, c.AutoApprove),
                PUBLISH_FEEDBACK_TIMER: on(handlers.publish_feedback, c.PublishFeedback),
                REVISION_LAPSE_TIMER: on(handlers.lapse_revision, c.LapseRevision),
            },
        }

    def event_handlers(self) -> Mapping[str, EventHandler]:
        """The consumed `listings.v1` and `payouts.v1` events, by event type full name."""

        def listing_changed(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            self.in_unit(uow, handlers.record_listing, contracts.record_listing(event))

        def payout_paid(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            assert isinstance(event, payouts_events.PayoutPaid)
            self.in_unit(uow, handlers.record_payout_paid, contracts.record_payout_paid(event))

        consumed: dict[str, EventHandler] = {
            event_type.DESCRIPTOR.full_name: listing_changed for event_type in LISTING_EVENTS
        }
        consumed[payouts_events.PayoutPaid.DESCRIPTOR.full_name] = payout_paid
        return consumed


def bootstrap(
    client: Client,
    database_name: str,
    clock: Clock,
    settings: ApplicationsSettings | None = None,
) -> ApplicationsApp:
    """The app over `database_name`, its indexes in place."""
    return bootstrap_units(UnitOfWorkFactory(client, database_name, SOURCE, clock), settings)


def bootstrap_units(
    units: UnitOfWorkFactory, settings: ApplicationsSettings | None = None
) -> ApplicationsApp:
    """The app over the database of `units` (the service runtime's, which the relay watches)."""
    settings = settings or ApplicationsSettings()
    ensure_indexes(units.db)
    context = Context(
        clock=units.clock,
        policy=settings.policy(),
        default_page_size=settings.default_page_size,
    )
    keys = settings.key_ring()
    return ApplicationsApp(units, context, keys.signer, keys)


__all__ = ["APPLICATIONS", "ENGAGEMENTS", "ApplicationsApp", "bootstrap", "bootstrap_units"]
