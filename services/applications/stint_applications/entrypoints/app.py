"""Applications on the shared runtime: what it serves, publishes, consumes and schedules."""

from __future__ import annotations

from stint.applications.v1 import service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_runtime.grpc.server import ServiceBinding
from stint_runtime.service import Runtime, ServiceDefinition, Timers

from stint_applications.bootstrap import bootstrap_units
from stint_applications.config import ApplicationsSettings
from stint_applications.entrypoints.policy import APPLICATIONS_POLICY, APPLICATIONS_SERVICE
from stint_applications.entrypoints.servicer import ApplicationsServicer

DEV_KEY_IN_PRODUCTION = (
    "STINT_APPLICATIONS_COMPLETION_SIGNING_KEY must be set in production: the development "
    "completion-signing key is public, so records it signs prove nothing"
)


def build(runtime: Runtime, settings: ApplicationsSettings | None = None) -> ServiceDefinition:
    """The ServiceDefinition of applications over the runtime's database and clock."""
    settings = settings or ApplicationsSettings()
    if runtime.settings.environment == "production" and settings.uses_dev_signing_key:
        raise RuntimeError(DEV_KEY_IN_PRODUCTION)
    app = bootstrap_units(runtime.units, settings)
    return ServiceDefinition(
        bindings=[
            ServiceBinding(
                APPLICATIONS_SERVICE,
                ApplicationsServicer(app),
                service_pb2_grpc.add_ApplicationsServiceServicer_to_server,
                APPLICATIONS_POLICY,
            )
        ],
        publishes=[APPLICATIONS],
        consumes=app.event_handlers(),
        timers=[
            Timers(collection, handlers) for collection, handlers in app.timer_handlers().items()
        ],
    )
