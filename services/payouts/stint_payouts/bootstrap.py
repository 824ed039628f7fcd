"""The composition root: payouts use cases wired to MongoDB, the provider, timers and events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.clock import Clock
from stint_runtime.messaging.subscriber import Handler as EventHandler
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import TimerHandler
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory

from stint_payouts.adapters import contracts
from stint_payouts.adapters.provider import StripeProvider
from stint_payouts.adapters.repository import (
    PAYOUTS,
    RECONCILE_TIMER,
    SCHEDULES,
    MongoStore,
    clear_reconciliation_request,
    ensure_indexes,
    ensure_reconciliation_scheduled,
    reconciliation_requested,
    request_reconciliation,
)
from stint_payouts.config import PayoutsSettings
from stint_payouts.domain import commands as c
from stint_payouts.domain.payout import RETRY_TIMER, Payout
from stint_payouts.domain.reconciliation import ReconciliationReport
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.handlers import Context
from stint_payouts.service_layer.ports import Provider, Store
from stint_payouts.service_layer.processing import process_payout, reconcile

C = TypeVar("C")
R = TypeVar("R")

SOURCE = "payouts"


class PayoutsApp:
    """Runs each use case in its own unit of work (retried on transient database errors)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        context: Context,
        provider: Provider,
        reconcile_every: timedelta,
    ) -> None:
        self.uow_factory = uow_factory
        self.context = context
        self.provider = provider
        self.reconcile_every = reconcile_every

    def run(self, handler: Callable[[C, Store, Context], R], message: C) -> R:
        return self.uow_factory.run(lambda uow: handler(message, MongoStore(uow), self.context))

    def in_unit(self, uow: UnitOfWork, handler: Callable[[C, Store, Context], R], message: C) -> R:
        """Run `handler` inside a unit of work someone else commits (consumers, timers)."""
        return handler(message, MongoStore(uow), self.context)

    def due_payouts(self, limit: int = 100) -> list[str]:
        """Payouts waiting for a provider attempt: new ones and interrupted ones."""
        now = self.context.now()
        return self.uow_factory.run(lambda uow: MongoStore(uow).payouts.due_for_attempt(now, limit))

    def trace_of(self, payout_id: str) -> dict[str, str]:
        """The W3C trace context the payout's processing continues."""
        return self.uow_factory.run(lambda uow: MongoStore(uow).payouts.trace_of(payout_id))

    def process(self, payout_id: str) -> Payout | None:
        """One provider attempt (no transaction is open during the call)."""
        run: Any = self.run
        return process_payout(run, self.provider, payout_id)

    def reconcile(self) -> ReconciliationReport:
        run: Any = self.run
        return reconcile(run, self.provider)

    def reconcile_if_requested(self) -> ReconciliationReport | None:
        if not reconciliation_requested(self.uow_factory.db):
            return None
        report = self.reconcile()
        self.uow_factory.run(clear_reconciliation_request)
        return report

    def timer_handlers(self) -> Mapping[str, Mapping[str, TimerHandler]]:
        def retry(uow: UnitOfWork, aggregate_id: str, name: str) -> None:
            self.in_unit(uow, handlers.fire_retry, c.FireRetry(aggregate_id))

        def reconcile(uow: UnitOfWork, aggregate_id: str, name: str) -> None:
            request_reconciliation(uow, self.reconcile_every)

        return {PAYOUTS: {RETRY_TIMER: retry}, SCHEDULES: {RECONCILE_TIMER: reconcile}}

    def event_handlers(self) -> Mapping[str, EventHandler]:
        """The money-relevant `applications.v1` events, by event type full name."""

        def engagement_changed(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
            self.in_unit(uow, handlers.record_engagement, contracts.record_engagement(event))

        return {event.DESCRIPTOR.full_name: engagement_changed for event in contracts.CONSUMED}


def provider_from(settings: PayoutsSettings) -> Provider:
    return StripeProvider(
        settings.provider_api_key.get_secret_value(),
        settings.provider_api_base,
        settings.provider_timeout_seconds,
    )


def bootstrap(
    client: Client,
    database_name: str,
    clock: Clock,
    settings: PayoutsSettings | None = None,
    provider: Provider | None = None,
) -> PayoutsApp:
    return bootstrap_units(
        UnitOfWorkFactory(client, database_name, SOURCE, clock), settings, provider
    )


def bootstrap_units(
    units: UnitOfWorkFactory,
    settings: PayoutsSettings | None = None,
    provider: Provider | None = None,
) -> PayoutsApp:
    """The app over the database of `units` (the service runtime's, which the relay watches)."""
    settings = settings or PayoutsSettings()
    every = timedelta(hours=settings.reconcile_every_hours)
    ensure_indexes(units.db)
    ensure_reconciliation_scheduled(units.db, units.clock, every)
    context = Context(
        clock=units.clock, rules=settings.rules(), default_page_size=settings.default_page_size
    )
    return PayoutsApp(units, context, provider or provider_from(settings), every)
