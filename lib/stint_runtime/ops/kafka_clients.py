"""kafka-python clients for the `stint` command, secured like the services (kafka_config)."""

from __future__ import annotations

from typing import Any

from stint_runtime.ops import EXIT_FAILED, OperatorError
from stint_runtime.settings import StintSettings

BOOTSTRAP_TIMEOUT_MS = 10_000  # an unreachable broker is reported, not waited on for 30 s


def kafka_options(settings: StintSettings) -> dict[str, Any]:
    """TLS/SASL options from the settings; bad settings are an OperatorError."""
    from stint_runtime.messaging.kafka_config import KafkaSecurityError, kafka_client_options

    try:
        return kafka_client_options(settings)
    except KafkaSecurityError as error:
        raise OperatorError(str(error), EXIT_FAILED) from None


def kafka_consumer(settings: StintSettings, bootstrap_servers: str, client_id: str) -> Any:
    """A kafka-python consumer without a group (partitions are assigned, never joined)."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    try:
        return KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            client_id=client_id,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            **kafka_options(settings),
        )
    except KafkaError as error:
        raise OperatorError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None


def kafka_producer(settings: StintSettings, bootstrap_servers: str, client_id: str) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            client_id=client_id,
            bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            **kafka_options(settings),
        )
    except KafkaError as error:
        raise OperatorError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
