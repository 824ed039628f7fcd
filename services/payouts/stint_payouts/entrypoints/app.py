"""Payouts on the shared runtime: what it serves, publishes, consumes and schedules, plus the
background processor that makes the provider calls."""

from __future__ import annotations

from collections.abc import Sequence

from stint.payouts.v1 import service_pb2_grpc
from stint.topics import PAYOUTS
from stint_runtime.clock import Clock
from stint_runtime.grpc.server import ServiceBinding
from stint_runtime.service import Runtime, ServiceApp, ServiceDefinition, Timers, Worker
from stint_runtime.settings import StintSettings

from stint_payouts.bootstrap import PayoutsApp, bootstrap_units
from stint_payouts.config import PayoutsSettings
from stint_payouts.entrypoints.policy import PAYOUTS_POLICY, PAYOUTS_SERVICE
from stint_payouts.entrypoints.processor import PayoutProcessor
from stint_payouts.entrypoints.servicer import PayoutsServicer
from stint_payouts.service_layer.ports import Provider

DEV_KEY_IN_PRODUCTION = (
    "STINT_PAYOUTS_PROVIDER_API_KEY must be set in production: the development key only "
    "talks to the simulator"
)


def definition(app: PayoutsApp, workers: Sequence[Worker] = ()) -> ServiceDefinition:
    return ServiceDefinition(
        bindings=[
            ServiceBinding(
                PAYOUTS_SERVICE,
                PayoutsServicer(app),
                service_pb2_grpc.add_PayoutsServiceServicer_to_server,
                PAYOUTS_POLICY,
            )
        ],
        publishes=[PAYOUTS],
        consumes=app.event_handlers(),
        timers=[
            Timers(collection, handlers) for collection, handlers in app.timer_handlers().items()
        ],
        workers=workers,
    )


def build(runtime: Runtime, settings: PayoutsSettings | None = None) -> ServiceDefinition:
    """The ServiceDefinition alone (no processor): for tools that only need the API."""
    settings = settings or PayoutsSettings()
    return definition(bootstrap_units(runtime.units, settings))


class PayoutsService(ServiceApp):
    """The runtime's ServiceApp for payouts, with the payout processor as its worker."""

    def __init__(
        self,
        settings: StintSettings,
        payouts: PayoutsSettings | None = None,
        *,
        clock: Clock | None = None,
        provider: Provider | None = None,
    ) -> None:
        self.payouts_settings = payouts or PayoutsSettings()
        self.app: PayoutsApp | None = None
        self.processor: PayoutProcessor | None = None
        self._provider = provider
        super().__init__(settings, self._build, clock=clock)

    def _build(self, runtime: Runtime) -> ServiceDefinition:
        if (
            runtime.settings.environment == "production"
            and self.payouts_settings.uses_dev_provider_key
        ):
            raise RuntimeError(DEV_KEY_IN_PRODUCTION)
        self.app = bootstrap_units(runtime.units, self.payouts_settings, self._provider)
        self.processor = PayoutProcessor(
            self.app,
            self.payouts_settings.processor_poll_seconds,
            self.payouts_settings.processor_concurrency,
        )
        return definition(self.app, workers=[self.processor])
