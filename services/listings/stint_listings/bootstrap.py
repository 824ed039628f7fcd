"""The composition root: the listings use cases wired to MongoDB, timers and Kafka handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from google.protobuf.message import Message
from stint.applications.v1 import events_pb2 as applications_events
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import Clock
from stint_runtime.messaging.subscriber import Handler as EventHandler
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import TimerHandler
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory

from stint_listings.adapters import contracts
from stint_listings.adapters.repository import (
    LISTINGS,
    ListingRepository,
    MongoListingRepository,
    ensure_indexes,
)
from stint_listings.config import ListingsSettings
from stint_listings.domain.commands import ExpireListing
from stint_listings.domain.model import EXPIRE_TIMER
from stint_listings.service_layer import handlers
from stint_listings.service_layer.handlers import Context

C = TypeVar("C")
R = TypeVar("R")

SOURCE = "listings"
ENGAGEMENT_ENDED = (applications_events.EngagementCancelled, applications_events.EngagementExpired)


class ListingsApp:
    """Runs each use case in its own unit of work (retried on transient database errors)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, context: Context) -> None:
        self.uow_factory = uow_factory
        self.context = context

    def run(self, handler: Callable[[C, ListingRepository, Context], R], message: C) -> R:
        return self.uow_factory.run(
            lambda uow: handler(message, MongoListingRepository(uow), self.context)
        )

    def in_unit(
        self, uow: UnitOfWork, handler: Callable[[C, ListingRepository, Context], R], message: C
    ) -> R:
        """Run `handler` inside a unit of work someone else commits (consumers, timers)."""
        return handler(message, MongoListingRepository(uow), self.context)

    def timer_handlers(self) -> Mapping[str, TimerHandler]:
        def expire(uow: UnitOfWork, listing_id: str, name: str) -> None:
            self.in_unit(uow, handlers.expire_listing, ExpireListing(listing_id))

        return {EXPIRE_TIMER: expire}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        """The `applications.v1` seat events, by event type full name."""

        def started(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            assert isinstance(event, applications_events.EngagementStarted)
            self.in_unit(uow, handlers.take_seat, contracts.take_seat(event))

        def ended(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            assert isinstance(event, ENGAGEMENT_ENDED)
            self.in_unit(uow, handlers.free_seat, contracts.free_seat(event))

        return {
            applications_events.EngagementStarted.DESCRIPTOR.full_name: started,
            applications_events.EngagementCancelled.DESCRIPTOR.full_name: ended,
            applications_events.EngagementExpired.DESCRIPTOR.full_name: ended,
        }


def bootstrap(
    client: Client,
    database_name: str,
    clock: Clock,
    settings: ListingsSettings | None = None,
) -> ListingsApp:
    """The app over `database_name`, its indexes in place."""
    return bootstrap_units(UnitOfWorkFactory(client, database_name, SOURCE, clock), settings)


def bootstrap_units(
    units: UnitOfWorkFactory, settings: ListingsSettings | None = None
) -> ListingsApp:
    """The app over the database of `units` (the service runtime's, which the relay watches)."""
    settings = settings or ListingsSettings()
    ensure_indexes(units.db)
    context = Context(
        clock=units.clock,
        rules=settings.posting_rules(),
        default_page_size=settings.default_page_size,
    )
    return ListingsApp(units, context)


__all__ = ["LISTINGS", "ListingsApp", "bootstrap", "bootstrap_units"]
