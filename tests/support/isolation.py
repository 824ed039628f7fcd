"""Per-module isolation for tests that start a real service: its own consumer group.

The runtime names a service's consumer group after the service, so every module that starts
the same service would share one group: a module's service would resume where the previous
module's left off, and their inbox and offsets would mix. `own_consumer_group` gives the
service started inside it a group of its own, positioned at the current end of its topics, so
it neither replays what earlier modules published nor depends on which module ran before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from stint import topics
from stint_runtime.messaging.subscriber import Subscriber
from stint_runtime.messaging.topics import ensure_topics
from stint_runtime.settings import StintSettings


async def position_at_end(bootstrap_servers: str, group_id: str, topics: Sequence[str]) -> None:
    """Commit `group_id`'s offsets at the end of every partition of `topics`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata partitions_for_topic reads
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return  # no topic yet: nothing to skip
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(ends)
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def own_consumer_group(
    settings: StintSettings, group_id: str, topics: Sequence[str]
) -> AsyncIterator[None]:
    """Services started inside subscribe as `group_id`, from the topics' current end."""
    await ensure_topics(
        settings.kafka_bootstrap_servers, topics, partitions=settings.kafka_topic_partitions
    )
    await position_at_end(settings.kafka_bootstrap_servers, group_id, topics)
    original = Subscriber.from_settings

    def from_settings(settings: StintSettings, **kwargs: Any) -> Subscriber:
        return original(settings, **{**kwargs, "group_id": group_id})

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Subscriber, "from_settings", from_settings)
        yield


async def with_own_group(settings: StintSettings) -> StintSettings:
    """`settings` with a consumer group of its own, positioned at the end of every public topic.

    For service processes: they read only what their test publishes, not the session's backlog.
    """
    group = f"{settings.service_name}-{uuid.uuid4().hex[:8]}"
    await position_at_end(settings.kafka_bootstrap_servers, group, topics.ALL)
    return settings.model_copy(update={"kafka_consumer_group": group})


def own_group_settings(settings: StintSettings) -> StintSettings:
    """with_own_group for synchronous code (in a thread of its own: callable inside a loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(asyncio.run, with_own_group(settings)).result()
