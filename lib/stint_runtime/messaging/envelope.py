"""CloudEvents envelopes around protobuf events, their Kafka headers and their trace context."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import uuid
from collections.abc import Iterable, Mapping

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate
from opentelemetry.context import Context
from stint.common.v1 import events_pb2
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime.clock import Clock

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
SOURCE_PREFIX = "stint/"
CONTRACTS_PACKAGE = "stint"


class UnknownEventTypeError(LookupError):
    """No generated contract declares this event type."""


class InvalidEnvelopeError(ValueError):
    """Bytes that are not a Stint event envelope."""


@functools.cache
def import_all_contracts() -> tuple[str, ...]:
    """Import every generated *_pb2 module of the contracts package, filling the descriptor pool."""
    package = importlib.import_module(CONTRACTS_PACKAGE)
    imported = []
    for module in pkgutil.walk_packages(package.__path__, f"{CONTRACTS_PACKAGE}."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
            imported.append(module.name)
    return tuple(imported)


def source_of(service: str) -> str:
    """The CloudEvents source of a service: "stint/<service>" (already prefixed names are kept)."""
    return service if service.startswith(SOURCE_PREFIX) else f"{SOURCE_PREFIX}{service}"


def descriptor_of(type_name: str) -> Descriptor:
    """The message descriptor of a fully qualified type name, importing the contracts if needed."""
    pool = descriptor_pool.Default()
    try:
        return pool.FindMessageTypeByName(type_name)
    except KeyError:
        import_all_contracts()
    try:
        return pool.FindMessageTypeByName(type_name)
    except KeyError:
        raise UnknownEventTypeError(type_name) from None


def topic_of(event: Message | type[Message] | str) -> str:
    """The topic named by the event message's `(stint.common.v1.event).topic` option."""
    descriptor = descriptor_of(event) if isinstance(event, str) else event.DESCRIPTOR
    options = descriptor.GetOptions()
    topic: str = options.Extensions[events_pb2.event].topic
    if not topic:
        raise UnknownEventTypeError(
            f"{descriptor.full_name} declares no (stint.common.v1.event).topic"
        )
    return topic


def current_trace_carrier(context: Context | None = None) -> dict[str, str]:
    """The W3C trace headers of `context` (default: the current one) from the global propagator."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return carrier


def new_envelope(
    event: Message, *, source: str, subject: str, clock: Clock, sequence: int = 0
) -> EventEnvelope:
    """Wrap `event` for publishing; the current OpenTelemetry context becomes its trace context."""
    descriptor = event.DESCRIPTOR
    carrier = current_trace_carrier()
    envelope = EventEnvelope(
        id=str(uuid.uuid4()),
        source=source_of(source),
        type=descriptor.full_name,
        subject=subject,
        spec_version=SPEC_VERSION,
        data_schema=descriptor.file.package,
        sequence=sequence,
        traceparent=carrier.get("traceparent", ""),
        tracestate=carrier.get("tracestate", ""),
    )
    envelope.time.FromDatetime(clock.now())
    envelope.data.Pack(event)
    return envelope


def decode_envelope(value: bytes | None) -> EventEnvelope:
    """Parse a Kafka record value; anything that is not a complete envelope is refused."""
    if not value:
        raise InvalidEnvelopeError("empty record value")
    envelope = EventEnvelope()
    try:
        envelope.ParseFromString(value)
    except DecodeError as exc:
        raise InvalidEnvelopeError("not a protobuf EventEnvelope") from exc
    if not envelope.id or not envelope.type or not envelope.HasField("data"):
        raise InvalidEnvelopeError("envelope lacks id, type or data")
    if envelope.data.TypeName() != envelope.type:
        raise InvalidEnvelopeError("envelope type does not match its data")
    return envelope


def unpack(envelope: EventEnvelope) -> Message:
    """The event message inside the envelope, as an instance of its generated class."""
    descriptor = descriptor_of(envelope.data.TypeName())
    event = message_factory.GetMessageClass(descriptor)()
    if not envelope.data.Unpack(event):
        raise InvalidEnvelopeError(f"cannot unpack {envelope.data.TypeName()}")
    return event


def kafka_headers(envelope: EventEnvelope) -> list[tuple[str, bytes]]:
    """CloudEvents binary-mode attributes plus the W3C trace context, as Kafka headers."""
    headers = [
        ("ce_id", envelope.id),
        ("ce_type", envelope.type),
        ("ce_source", envelope.source),
        ("ce_specversion", envelope.spec_version or SPEC_VERSION),
        ("ce_subject", envelope.subject),
        ("content-type", CONTENT_TYPE),
        ("traceparent", envelope.traceparent),
        ("tracestate", envelope.tracestate),
    ]
    return [(name, value.encode()) for name, value in headers if value]


def headers_as_carrier(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, str]:
    """Kafka headers as a text carrier for the propagator (undecodable values are dropped)."""
    carrier: dict[str, str] = {}
    for name, value in headers:
        if value is None:
            continue
        try:
            carrier[name] = value.decode()
        except UnicodeDecodeError:
            continue
    return carrier


def context_from_carrier(carrier: Mapping[str, str]) -> Context:
    return propagate.extract(carrier)


def context_from_headers(headers: Iterable[tuple[str, bytes | None]]) -> Context:
    """The OpenTelemetry context a producer wrote into the record's headers."""
    return context_from_carrier(headers_as_carrier(headers))


def context_from_envelope(envelope: EventEnvelope) -> Context:
    """The OpenTelemetry context of the operation that caused the event."""
    carrier = {"traceparent": envelope.traceparent, "tracestate": envelope.tracestate}
    return context_from_carrier({k: v for k, v in carrier.items() if v})
