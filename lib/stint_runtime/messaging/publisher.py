"""Publishing to Kafka with acks=all, a PRODUCER span per event and the trace context in headers."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata
from opentelemetry import trace
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime.messaging.envelope import (
    context_from_envelope,
    current_trace_carrier,
    kafka_headers,
)

tracer = trace.get_tracer("stint.kafka")
TRACE_HEADERS = frozenset({"traceparent", "tracestate"})


def _as_bytes(key: bytes | str | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


class KafkaPublisher:
    """One aiokafka producer, created by start() (aiokafka needs the running loop).

    Idempotence stays off by default: the embedded broker refuses it; consumers dedupe.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        enable_idempotence: bool = False,
        request_timeout_ms: int = 30_000,
        **client_options: Any,
    ) -> None:
        """`client_options`: further producer options, e.g. kafka_client_options(settings)."""
        self._config = {
            **client_options,
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": enable_idempotence,
            "request_timeout_ms": request_timeout_ms,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(**self._config)
            await producer.start()
            self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    async def __aenter__(self) -> KafkaPublisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def publish(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> RecordMetadata:
        """Send one record and wait until every in-sync replica has it; where it landed."""
        if self._producer is None:
            raise RuntimeError("KafkaPublisher.start() was not called")
        return await self._producer.send_and_wait(
            topic, value=value, key=_as_bytes(key), headers=list(headers)
        )

    async def publish_envelope(self, topic: str, envelope: EventEnvelope) -> RecordMetadata:
        """Publish an event keyed by its subject, traced as a child of the operation behind it."""
        with tracer.start_as_current_span(
            f"{topic} publish",
            context=context_from_envelope(envelope),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.destination.name": topic,
                "messaging.message.id": envelope.id,
                "messaging.kafka.message.key": envelope.subject,
                "cloudevents.event_type": envelope.type,
            },
        ):
            headers = [(k, v) for k, v in kafka_headers(envelope) if k not in TRACE_HEADERS]
            headers += [(k, v.encode()) for k, v in current_trace_carrier().items()]
            return await self.publish(
                topic, envelope.subject, envelope.SerializeToString(), headers
            )
