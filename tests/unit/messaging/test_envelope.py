"""Envelopes: CloudEvents attributes, topic lookup, unpacking, Kafka headers, trace context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import (
    InvalidEnvelopeError,
    UnknownEventTypeError,
    context_from_envelope,
    context_from_headers,
    decode_envelope,
    import_all_contracts,
    kafka_headers,
    new_envelope,
    topic_of,
    unpack,
)

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def published(listing_id: str = "l-1") -> listings_events.ListingPublished:
    return listings_events.ListingPublished(listing_id=listing_id)


def test_new_envelope_carries_the_cloudevents_attributes() -> None:
    envelope = new_envelope(
        published(), source="listings", subject="l-1", clock=ManualClock(NOW), sequence=3
    )

    assert len(envelope.id) == 36
    assert envelope.source == "stint/listings"
    assert envelope.type == "stint.listings.v1.ListingPublished"
    assert envelope.time.ToDatetime(UTC) == NOW
    assert (envelope.subject, envelope.sequence) == ("l-1", 3)
    assert (envelope.spec_version, envelope.data_schema) == ("1.0", "stint.listings.v1")
    assert (envelope.traceparent, envelope.tracestate) == ("", ""), "no active trace"
    assert unpack(envelope) == published()


def test_every_envelope_gets_its_own_id() -> None:
    clock = ManualClock(NOW)
    ids = {new_envelope(published(), source="x", subject="s", clock=clock).id for _ in range(50)}
    assert len(ids) == 50


def test_new_envelope_captures_the_current_trace_context() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        envelope = new_envelope(published(), source="x", subject="s", clock=ManualClock(NOW))
    context = span.get_span_context()

    assert envelope.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    restored = trace.get_current_span(context_from_envelope(envelope)).get_span_context()
    assert (restored.trace_id, restored.span_id) == (context.trace_id, context.span_id)


def test_topic_comes_from_the_event_option() -> None:
    assert topic_of(published()) == "listings.v1"
    assert topic_of(listings_events.ListingPublished) == "listings.v1"
    assert topic_of("stint.listings.v1.ListingPublished") == "listings.v1"


def test_messages_that_are_not_events_have_no_topic() -> None:
    with pytest.raises(UnknownEventTypeError):
        topic_of(StringValue())
    with pytest.raises(UnknownEventTypeError):
        topic_of("stint.nowhere.v1.Nothing")


def test_import_all_contracts_finds_every_generated_module() -> None:
    modules = import_all_contracts()
    assert "stint.common.v1.events_pb2" in modules
    assert "stint.listings.v1.events_pb2" in modules
    assert all(name.endswith("_pb2") for name in modules)


def test_decode_round_trips_and_refuses_what_is_not_an_envelope() -> None:
    envelope = new_envelope(published(), source="x", subject="s", clock=ManualClock(NOW))
    assert decode_envelope(envelope.SerializeToString()) == envelope

    for garbage in (None, b"", b"\xff\xff\xff", EventEnvelope(id="1").SerializeToString()):
        with pytest.raises(InvalidEnvelopeError):
            decode_envelope(garbage)


def test_unpack_of_an_unknown_type_is_refused() -> None:
    envelope = new_envelope(published(), source="x", subject="s", clock=ManualClock(NOW))
    envelope.data.type_url = "type.googleapis.com/stint.nowhere.v1.Nothing"
    with pytest.raises(UnknownEventTypeError):
        unpack(envelope)


def test_kafka_headers_carry_cloudevents_attributes_and_trace_context() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request"):
        envelope = new_envelope(published(), source="listings", subject="l-1", clock=ManualClock())

    headers = dict(kafka_headers(envelope))

    assert headers == {
        "ce_id": envelope.id.encode(),
        "ce_type": b"stint.listings.v1.ListingPublished",
        "ce_source": b"stint/listings",
        "ce_specversion": b"1.0",
        "ce_subject": b"l-1",
        "content-type": b"application/protobuf",
        "traceparent": envelope.traceparent.encode(),
    }
    from_headers = trace.get_current_span(context_from_headers(headers.items()))
    assert from_headers.get_span_context().trace_id == int(envelope.traceparent[3:35], 16)
