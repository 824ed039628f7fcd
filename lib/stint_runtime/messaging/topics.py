"""Topic administration and the naming of dead-letter topics.

Services create missing topics only when STINT_KAFKA_CREATE_TOPICS is on (the embedded stack);
where an operator provisions them (Kubernetes) a missing topic is an error at start. Topics are
never created with a replication factor the cluster cannot honour or below what its brokers
ask for (default.replication.factor, min.insync.replicas), when the brokers tell.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, for_code

from stint_runtime.messaging.kafka_config import kafka_client_options
from stint_runtime.settings import StintSettings

log = logging.getLogger("stint.kafka")
TOPIC_ALREADY_EXISTS = 36
DESCRIBE_CONFIGS_TIMEOUT_SECONDS = 10.0
BROKER_LIMITS = ("default.replication.factor", "min.insync.replicas")


class TopicProvisioningError(RuntimeError):
    """Topics are missing and may not be created, or cannot be created as configured."""


@dataclass(frozen=True)
class ClusterLimits:
    """What the cluster says about replication; None where a broker did not tell."""

    brokers: int
    default_replication_factor: int | None = None
    min_insync_replicas: int | None = None


def dead_letter_topic(group_id: str, topic: str) -> str:
    """Where a consumer group parks records of `topic` it could not process: "<group>.<topic>.dlt".

    One dead-letter topic per group and source topic, so replaying it reaches only that group.
    """
    return f"{group_id}.{topic}.dlt"


def check_replication_factor(replication_factor: int, limits: ClusterLimits) -> None:
    """Raises TopicProvisioningError when the cluster cannot or should not take this factor."""
    setting = f"STINT_KAFKA_TOPIC_REPLICATION_FACTOR={replication_factor}"
    if replication_factor > limits.brokers:
        raise TopicProvisioningError(
            f"{setting} but the cluster has {limits.brokers} broker(s): topics cannot be created"
        )
    if limits.default_replication_factor and replication_factor < limits.default_replication_factor:
        raise TopicProvisioningError(
            f"{setting} is below the brokers' default.replication.factor="
            f"{limits.default_replication_factor}: refusing to create under-replicated topics"
        )
    if limits.min_insync_replicas and replication_factor < limits.min_insync_replicas:
        raise TopicProvisioningError(
            f"{setting} is below the brokers' min.insync.replicas={limits.min_insync_replicas}: "
            "every acks=all write to such a topic would fail"
        )


def _broker_limits(responses: Iterable[Any]) -> dict[str, int]:
    """The integer limits found in DescribeConfigs responses (resources, then entries)."""
    found: dict[str, int] = {}
    for response in responses:
        for error_code, _message, _type, _name, entries in response.resources:
            if error_code:
                log.warning("broker config not readable", extra={"code": error_code})
                continue
            for name, value, *_ in entries:
                if name in BROKER_LIMITS and value is not None and str(value).isdigit():
                    found[name] = int(value)
    return found


async def read_cluster_limits(admin: Any) -> ClusterLimits:
    """Broker count, and the brokers' replication limits when they answer DescribeConfigs.

    Some brokers (the embedded tansu) return no entries or refuse the request: then only the
    broker count is known, which is logged, not fatal.
    """
    cluster = await admin.describe_cluster()
    brokers = cluster.get("brokers") or []
    limits: dict[str, int] = {}
    if brokers:
        resource = ConfigResource(ConfigResourceType.BROKER, str(brokers[0]["node_id"]))
        try:
            responses = await asyncio.wait_for(
                admin.describe_configs([resource]), DESCRIBE_CONFIGS_TIMEOUT_SECONDS
            )
            limits = _broker_limits(responses)
        except (KafkaError, TimeoutError, ValueError, TypeError) as error:
            log.warning(
                "broker config not readable; checking the broker count only",
                extra={"error": type(error).__name__},
            )
    if len(limits) < len(BROKER_LIMITS):
        log.info("broker replication limits not all known", extra={"known": sorted(limits)})
    return ClusterLimits(
        brokers=len(brokers),
        default_replication_factor=limits.get("default.replication.factor"),
        min_insync_replicas=limits.get("min.insync.replicas"),
    )


async def _missing(admin: Any, wanted: list[str]) -> list[str]:
    existing = set(await admin.list_topics())
    return [name for name in wanted if name not in existing]


async def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 3,
    replication_factor: int = 1,
    *,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names it created.

    Raises TopicProvisioningError, creating nothing, when the replication factor does not fit
    the cluster (see check_replication_factor).
    """
    wanted = sorted(set(names))
    admin = AIOKafkaAdminClient(
        **(client_options or {}), bootstrap_servers=bootstrap_servers, client_id="stint-admin"
    )
    await admin.start()
    try:
        missing = await _missing(admin, wanted)
        if not missing:
            return []
        check_replication_factor(replication_factor, await read_cluster_limits(admin))
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in missing]
        )
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TOPIC_ALREADY_EXISTS:
                raise TopicProvisioningError(
                    f"creating topic {name} failed: {for_code(code).__name__} (code {code})"
                )
        log.info("created topics", extra={"topics": created})
        return created
    finally:
        await admin.close()


async def provision_topics(settings: StintSettings, names: Iterable[str]) -> list[str]:
    """The topics a service needs at start: created when STINT_KAFKA_CREATE_TOPICS is on (with
    the configured partitions and replication factor), else required to exist already.

    Returns the names created; raises TopicProvisioningError with what to do otherwise.
    """
    options = kafka_client_options(settings)
    if settings.kafka_create_topics:
        return await ensure_topics(
            settings.kafka_bootstrap_servers,
            names,
            partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_topic_replication_factor,
            client_options=options,
        )
    admin = AIOKafkaAdminClient(
        **options, bootstrap_servers=settings.kafka_bootstrap_servers, client_id="stint-admin"
    )
    await admin.start()
    try:
        missing = await _missing(admin, sorted(set(names)))
    finally:
        await admin.close()
    if missing:
        raise TopicProvisioningError(
            f"topics missing: {', '.join(missing)}; STINT_KAFKA_CREATE_TOPICS is off, so the "
            "operator must create them (or turn it on)"
        )
    return []
