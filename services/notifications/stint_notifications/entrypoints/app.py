"""Notifications on the shared runtime: served, published, consumed, scheduled, dispatched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.sdk.trace.export import SpanExporter
from stint.notifications.v1 import service_pb2_grpc
from stint.topics import NOTIFICATIONS
from stint_runtime.clock import Clock
from stint_runtime.grpc.server import ServiceBinding
from stint_runtime.service import Runtime, ServiceApp, ServiceDefinition, Timers, Worker
from stint_runtime.settings import StintSettings

from stint_notifications.adapters.webhooks import resolve
from stint_notifications.bootstrap import NotificationsApp, Sender, bootstrap_units
from stint_notifications.config import NotificationsSettings
from stint_notifications.entrypoints.dispatcher import Dispatcher
from stint_notifications.entrypoints.policy import NOTIFICATIONS_POLICY, NOTIFICATIONS_SERVICE
from stint_notifications.entrypoints.servicer import NotificationsServicer
from stint_notifications.service_layer.handlers import Resolver


def definition(app: NotificationsApp, workers: Sequence[Worker] = ()) -> ServiceDefinition:
    return ServiceDefinition(
        bindings=[
            ServiceBinding(
                NOTIFICATIONS_SERVICE,
                NotificationsServicer(app),
                service_pb2_grpc.add_NotificationsServiceServicer_to_server,
                NOTIFICATIONS_POLICY,
            )
        ],
        publishes=[NOTIFICATIONS],
        consumes=app.event_handlers(),
        timers=[
            Timers(collection, handlers) for collection, handlers in app.timer_handlers().items()
        ],
        workers=workers,
    )


class NotificationsService(ServiceApp):
    """The runtime's ServiceApp for notifications, with the dispatcher (it sends deliveries
    outside transactions) as its worker."""

    def __init__(
        self,
        settings: StintSettings,
        *,
        config: NotificationsSettings | None = None,
        clock: Clock | None = None,
        span_exporter: SpanExporter | None = None,
        resolver: Resolver = resolve,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.config = config or NotificationsSettings()
        self.app: NotificationsApp | None = None
        self.dispatcher: Dispatcher | None = None
        self._resolver = resolver
        self._senders = senders
        super().__init__(settings, self._build, clock=clock, span_exporter=span_exporter)

    def _build(self, runtime: Runtime) -> ServiceDefinition:
        self.app = bootstrap_units(
            runtime.units,
            runtime.settings,
            self.config,
            resolver=self._resolver,
            senders=self._senders,
        )
        self.dispatcher = Dispatcher(self.app, runtime.settings.timer_poll_seconds)
        return definition(self.app, workers=[self.dispatcher])
