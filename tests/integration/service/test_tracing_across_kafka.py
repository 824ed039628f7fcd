"""One trace follows a request from the gRPC call through the outbox and Kafka to the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from stint.listings.v1 import service_pb2_grpc
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.service import ServiceApp
from stint_runtime.settings import StintSettings
from stint_runtime.telemetry import flush_telemetry

from tests.support.grpc_listings import create_request
from tests.support.service_probe import HANDLER_SPAN, SEEN, build
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def traced_app(
    probe_settings: StintSettings,
) -> AsyncIterator[tuple[ServiceApp, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    app = ServiceApp(probe_settings, build, span_exporter=exporter)
    await app.start()
    try:
        yield app, exporter
    finally:
        await app.stop()


async def test_one_trace_from_grpc_call_through_kafka_to_the_handler(
    traced_app: tuple[ServiceApp, InMemorySpanExporter],
) -> None:
    app, exporter = traced_app
    assert app.runtime is not None
    token = mint_token(app.settings, sub="emp-1", role="employer", org="org-1")
    async with insecure_channel(app.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        response = await stub.CreateListing(
            create_request(),
            metadata=call_metadata(token=token, idempotency_key=new_idempotency_key()),
        )
    seen = app.runtime.units.db[SEEN]
    await eventually(
        lambda: asyncio.to_thread(seen.find_one, {"listing_id": response.listing.id}),
        what="the probe's consumer to handle the ListingSubmitted event",
    )
    flush_telemetry()

    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER and s.name.endswith("/CreateListing")]
    listing_id = response.listing.id
    producers = [
        s
        for s in spans
        if s.kind == SpanKind.PRODUCER
        and (s.attributes or {}).get("messaging.kafka.message.key") == listing_id
    ]
    assert server, [s.name for s in spans]
    assert len(producers) == 1, [(s.name, s.kind) for s in spans]
    event_id = (producers[0].attributes or {})["messaging.message.id"]
    consumers = [
        s
        for s in spans
        if s.kind == SpanKind.CONSUMER
        and (s.attributes or {}).get("messaging.message.id") == event_id
    ]
    assert consumers, [(s.name, s.kind) for s in spans]
    consumer_ids = {s.context.span_id for s in consumers}
    handlers = [
        s
        for s in spans
        if s.name == HANDLER_SPAN and s.parent is not None and s.parent.span_id in consumer_ids
    ]
    assert handlers, "the handler's span is not a child of the consumer span"
    trace_id = server[0].context.trace_id
    for span in (*producers, *consumers, *handlers):
        assert span.context.trace_id == trace_id, span.name
    assert all(h.parent is not None and h.parent.span_id in consumer_ids for h in handlers)
