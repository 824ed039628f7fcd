"""What each service publishes and consumes, read from its own ServiceDefinition (the code the
pods run), so the manifests are checked against the services rather than a second copy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from stint_applications.entrypoints.app import build as build_applications
from stint_listings.entrypoints.app import build as build_listings
from stint_notifications.entrypoints.app import NotificationsService
from stint_payouts.entrypoints.app import PayoutsService
from stint_runtime.clock import SystemClock
from stint_runtime.messaging.envelope import source_of
from stint_runtime.messaging.topics import dead_letter_topic
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.service import Runtime, ServiceDefinition
from stint_runtime.settings import load_settings

BUILDERS: dict[str, Callable[[Runtime], ServiceDefinition]] = {
    "listings": build_listings,
    "applications": build_applications,
    "payouts": lambda runtime: PayoutsService(runtime.settings)._build(runtime),
    "notifications": lambda runtime: NotificationsService(runtime.settings)._build(runtime),
}


@dataclass(frozen=True)
class ServiceKafka:
    """A service's use of Kafka, as its ServiceApp provisions and uses it."""

    group: str
    publishes: frozenset[str]
    consumes: frozenset[str]

    @property
    def dead_letters(self) -> frozenset[str]:
        return frozenset(dead_letter_topic(self.group, topic) for topic in self.consumes)

    @property
    def topics(self) -> frozenset[str]:
        return self.publishes | self.consumes | self.dead_letters


@pytest.fixture(scope="module")
def service_kafka(
    mongo: Client, request: pytest.FixtureRequest
) -> Iterator[dict[str, ServiceKafka]]:
    """Each service's definition, built over a throwaway database (building creates indexes)."""
    found = {}
    databases = []
    for name, builder in BUILDERS.items():
        database = f"t_deploy_{name}_{abs(hash(request.node.nodeid)) % 10**8}"
        databases.append(database)
        settings = load_settings(name).model_copy(update={"mongodb_database": database})
        clock = SystemClock()
        units = UnitOfWorkFactory(mongo, settings.database_name, source_of(name), clock)
        definition = builder(Runtime(settings, clock, mongo, units))
        found[name] = ServiceKafka(
            group=settings.consumer_group,
            publishes=frozenset(definition.publishes),
            consumes=frozenset(definition.consumed_topics()),
        )
    yield found
    for database in databases:
        mongo.drop_database(database)
