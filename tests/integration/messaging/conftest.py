"""Fixtures for messaging tests: a database, a unit-of-work factory and a dead-letter publisher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Handler, Subscriber
from stint_runtime.messaging.topics import dead_letter_topic, ensure_topics
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import MAX_ATTEMPTS, SubscriberMaker


@pytest.fixture
def factory(mongo: Client, unique_name: str) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(mongo, unique_name, "testsvc", ManualClock())


@pytest.fixture
async def publisher(infra: Endpoints) -> AsyncIterator[KafkaPublisher]:
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="test") as publisher:
        yield publisher


@pytest.fixture
async def topic(infra: Endpoints, unique_name: str) -> str:
    """A one-partition topic and its dead-letter topic for the group of the same name."""
    await ensure_topics(
        infra.kafka_bootstrap_servers,
        [unique_name, dead_letter_topic(unique_name, unique_name)],
        partitions=1,
    )
    return unique_name


@pytest.fixture
async def subscribe(
    infra: Endpoints,
    topic: str,
    factory: UnitOfWorkFactory,
    publisher: KafkaPublisher,
) -> AsyncIterator[SubscriberMaker]:
    started: list[Subscriber] = []

    def make(
        handlers: Mapping[str, Handler], topics: Sequence[str] = (topic,), **overrides: Any
    ) -> Subscriber:
        options: dict[str, Any] = {
            "uow_factory": factory,
            "dead_letters": publisher,
            "max_attempts": MAX_ATTEMPTS,
            "backoff": Backoff(initial=0.01, maximum=0.05),
            "session_timeout_ms": 3_000,
            **overrides,
        }
        subscriber = Subscriber(
            bootstrap_servers=infra.kafka_bootstrap_servers,
            group_id=topic,
            topics=topics,
            handlers=handlers,
            **options,
        )
        started.append(subscriber)
        return subscriber

    yield make
    for subscriber in started:
        await subscriber.stop()
