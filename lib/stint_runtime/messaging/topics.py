"""Topic administration and the naming of dead-letter topics."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

log = logging.getLogger("stint.kafka")
TOPIC_ALREADY_EXISTS = 36


def dead_letter_topic(group_id: str, topic: str) -> str:
    """Where a consumer group parks records of `topic` it could not process: "<group>.<topic>.dlt".

    One dead-letter topic per group and source topic, so replaying it reaches only that group.
    """
    return f"{group_id}.{topic}.dlt"


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 3,
    replication_factor: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created."""
    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="stint-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in missing]
        )
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
        log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()
