"""Topic provisioning against the real broker: created only when configured, with the
configured partitions, never with a replication factor the cluster cannot honour."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from stint_runtime.messaging.topics import (
    TopicProvisioningError,
    ensure_topics,
    provision_topics,
    read_cluster_limits,
)
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import settings_for

pytestmark = pytest.mark.integration


async def _topics(infra: Endpoints) -> dict[str, int]:
    """Every topic and its partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        names = await admin.list_topics()
        described: list[dict[str, Any]] = await admin.describe_topics(names)
    finally:
        await admin.close()
    return {topic["topic"]: len(topic["partitions"]) for topic in described}


async def test_missing_topics_are_created_with_the_configured_partitions(
    infra: Endpoints, unique_name: str
) -> None:
    settings = settings_for(infra, kafka_topic_partitions=2, kafka_topic_replication_factor=1)
    names = [f"{unique_name}.a", f"{unique_name}.b"]

    assert await provision_topics(settings, names) == names
    assert await provision_topics(settings, names) == []
    topics = await _topics(infra)
    assert (topics[names[0]], topics[names[1]]) == (2, 2)


async def test_a_replication_factor_above_the_broker_count_is_refused_and_nothing_created(
    infra: Endpoints, unique_name: str
) -> None:
    settings = settings_for(infra, kafka_topic_replication_factor=2)

    with pytest.raises(TopicProvisioningError, match=r"the cluster has 1 broker\(s\)"):
        await provision_topics(settings, [unique_name])
    assert unique_name not in await _topics(infra)


async def test_with_creation_off_missing_topics_are_an_error_and_existing_ones_pass(
    infra: Endpoints, unique_name: str
) -> None:
    settings = settings_for(infra, kafka_create_topics=False)
    existing, missing = f"{unique_name}.here", f"{unique_name}.gone"
    await ensure_topics(infra.kafka_bootstrap_servers, [existing], partitions=1)

    assert await provision_topics(settings, [existing]) == []
    with pytest.raises(TopicProvisioningError) as refused:
        await provision_topics(settings, [existing, missing])
    assert f"topics missing: {missing};" in str(refused.value)
    assert "STINT_KAFKA_CREATE_TOPICS is off" in str(refused.value)
    assert missing not in await _topics(infra)


async def test_reading_the_limits_of_the_real_broker_does_not_fail(infra: Endpoints) -> None:
    """tansu answers DescribeConfigs with no entries: only the broker count is known."""
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        limits = await read_cluster_limits(admin)
    finally:
        await admin.close()
    assert limits.brokers >= 1
