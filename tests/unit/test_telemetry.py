"""Tracing: one provider per process, gRPC client and server spans share a trace, W3C context."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.grpc.server import build_server
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.processes import free_port
from stint_runtime.telemetry import configure_telemetry


@pytest.fixture
def settings() -> StintSettings:
    return load_settings("listings").model_copy(update={"environment": "test"})


def test_configuring_twice_keeps_the_provider_and_swaps_the_exporter(
    settings: StintSettings,
) -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    provider = configure_telemetry(settings, exporter=first)
    assert configure_telemetry(settings, exporter=second) is provider
    assert trace.get_tracer_provider() is provider
    with trace.get_tracer("test").start_as_current_span("after-reconfiguring"):
        pass
    assert [s.name for s in second.get_finished_spans()] == ["after-reconfiguring"]
    assert first.get_finished_spans() == ()


def test_spans_carry_the_service_name() -> None:
    """In a fresh process: the first configuration of a process fixes its service name."""
    program = textwrap.dedent(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from stint_runtime.settings import load_settings
        from stint_runtime.telemetry import configure_telemetry

        configure_telemetry(load_settings("listings"), exporter=InMemorySpanExporter())
        exporter = InMemorySpanExporter()
        configure_telemetry(load_settings("payouts"), exporter=exporter)
        with trace.get_tracer("test").start_as_current_span("work"):
            pass
        (span,) = exporter.get_finished_spans()
        print(span.resource.attributes["service.name"])
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout.strip() == "listings"


def test_w3c_trace_context_is_propagated(settings: StintSettings) -> None:
    configure_telemetry(settings, exporter=InMemorySpanExporter())
    carrier: dict[str, str] = {}
    with trace.get_tracer("test").start_as_current_span("outgoing") as span:
        inject(carrier)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert carrier["traceparent"].split("-")[1] == trace_id


async def test_health_checks_are_not_traced(settings: StintSettings) -> None:
    exporter = InMemorySpanExporter()
    configure_telemetry(settings, exporter=exporter)
    server = await build_server(settings, [], address=f"127.0.0.1:{free_port()}")
    await server.start()
    try:
        async with insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = await health.Check(health_pb2.HealthCheckRequest())
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            watch = health.Watch(health_pb2.HealthCheckRequest())
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            watch.cancel()
    finally:
        await server.stop(0)
    assert exporter.get_finished_spans() == ()
