"""The listings service on the shared runtime: what it serves, publishes, consumes, schedules."""

from __future__ import annotations

from stint.listings.v1 import service_pb2_grpc
from stint.topics import LISTINGS
from stint_runtime.grpc.server import ServiceBinding
from stint_runtime.service import Runtime, ServiceDefinition, Timers

from stint_listings.adapters.repository import LISTINGS as LISTINGS_COLLECTION
from stint_listings.bootstrap import bootstrap_units
from stint_listings.config import ListingsSettings
from stint_listings.entrypoints.policy import LISTINGS_POLICY, LISTINGS_SERVICE
from stint_listings.entrypoints.servicer import ListingsServicer


def build(runtime: Runtime, settings: ListingsSettings | None = None) -> ServiceDefinition:
    """The ServiceDefinition of listings over the runtime's database and clock."""
    app = bootstrap_units(runtime.units, settings)
    return ServiceDefinition(
        bindings=[
            ServiceBinding(
                LISTINGS_SERVICE,
                ListingsServicer(app),
                service_pb2_grpc.add_ListingsServiceServicer_to_server,
                LISTINGS_POLICY,
            )
        ],
        publishes=[LISTINGS],
        consumes=app.event_handlers(),
        timers=[Timers(LISTINGS_COLLECTION, app.timer_handlers())],
    )
