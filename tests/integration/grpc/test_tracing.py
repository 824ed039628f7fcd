"""A mutating RPC is one trace: client and server spans and the MongoDB spans of its idempotency."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from stint.listings.v1 import service_pb2_grpc
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel
from stint_runtime.grpc.server import build_server
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import free_port
from stint_runtime.telemetry import configure_telemetry

from tests.support.grpc_listings import ListingsTestServicer, create_request, listings_binding

pytestmark = pytest.mark.integration


async def test_server_and_mongodb_spans_share_the_trace(grpc_settings: StintSettings) -> None:
    exporter = InMemorySpanExporter()
    configure_telemetry(grpc_settings, exporter=exporter)
    server = await build_server(
        grpc_settings,
        [listings_binding(ListingsTestServicer())],
        address=f"127.0.0.1:{free_port()}",
    )
    await server.start()
    token = mint_token(grpc_settings, sub="emp-1", role="employer", org="org-1")
    try:
        async with insecure_channel(server.address) as channel:
            stub = service_pb2_grpc.ListingsServiceStub(channel)
            exporter.clear()
            await stub.CreateListing(
                create_request(), metadata=call_metadata(token=token, idempotency_key="traced")
            )
    finally:
        await server.stop(0)
    spans = exporter.get_finished_spans()
    (served,) = [s for s in spans if s.kind == SpanKind.SERVER]
    (client,) = [s for s in spans if s.kind == SpanKind.CLIENT and s.name == served.name]
    assert served.name == "/stint.listings.v1.ListingsService/CreateListing"
    assert served.parent is not None
    assert served.parent.span_id == client.context.span_id
    mongo = [s for s in spans if s.attributes and s.attributes.get("db.system") == "mongodb"]
    assert mongo, f"no MongoDB spans among {[s.name for s in spans]}"
    assert {s.context.trace_id for s in mongo} == {served.context.trace_id}
