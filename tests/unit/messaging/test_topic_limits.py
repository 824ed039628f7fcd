"""Replication factors are checked against what the cluster can honour and asks for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from stint_runtime.messaging.topics import (
    ClusterLimits,
    TopicProvisioningError,
    check_replication_factor,
    read_cluster_limits,
)


@pytest.mark.parametrize(
    ("factor", "limits", "message"),
    [
        (2, ClusterLimits(brokers=1), "the cluster has 1 broker(s)"),
        (1, ClusterLimits(brokers=3, default_replication_factor=3), "default.replication.factor=3"),
        (1, ClusterLimits(brokers=3, min_insync_replicas=2), "min.insync.replicas=2"),
    ],
)
def test_a_factor_the_cluster_cannot_or_should_not_take_is_refused(
    factor: int, limits: ClusterLimits, message: str
) -> None:
    with pytest.raises(TopicProvisioningError) as refused:
        check_replication_factor(factor, limits)
    assert message in str(refused.value)
    assert f"STINT_KAFKA_TOPIC_REPLICATION_FACTOR={factor}" in str(refused.value)


@pytest.mark.parametrize(
    ("factor", "limits"),
    [
        (1, ClusterLimits(brokers=1)),
        (3, ClusterLimits(brokers=3, default_replication_factor=3, min_insync_replicas=2)),
        (2, ClusterLimits(brokers=5, min_insync_replicas=2)),
    ],
)
def test_a_fitting_factor_passes(factor: int, limits: ClusterLimits) -> None:
    check_replication_factor(factor, limits)


@dataclass
class Response:
    resources: list[tuple[int, str, int, str, list[tuple[Any, ...]]]]


@dataclass
class FakeAdmin:
    """describe_cluster and describe_configs as a broker would answer (or fail)."""

    brokers: int = 3
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    error_code: int = 0
    failure: Exception | None = None

    async def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": i, "host": "h", "port": 9092} for i in range(self.brokers)]}

    async def describe_configs(self, resources: list[Any]) -> list[Response]:
        if self.failure is not None:
            raise self.failure
        return [Response([(self.error_code, "", 4, "0", self.entries)])]


async def test_limits_are_read_from_the_broker_config() -> None:
    admin = FakeAdmin(
        entries=[
            ("default.replication.factor", "3", True, 5, False, []),
            ("min.insync.replicas", "2", True, 5, False, []),
            ("log.retention.hours", "168", True, 5, False, []),
        ]
    )
    assert await read_cluster_limits(admin) == ClusterLimits(3, 3, 2)


@pytest.mark.parametrize(
    "admin",
    [
        FakeAdmin(entries=[]),  # what the embedded tansu answers
        FakeAdmin(error_code=29),  # CLUSTER_AUTHORIZATION_FAILED for this resource
        FakeAdmin(failure=KafkaError("describe_configs not supported")),
        FakeAdmin(entries=[("min.insync.replicas", None, True, 5, True, [])]),  # sensitive
    ],
)
async def test_unreadable_broker_config_degrades_to_the_broker_count(admin: FakeAdmin) -> None:
    assert await read_cluster_limits(admin) == ClusterLimits(brokers=3)
