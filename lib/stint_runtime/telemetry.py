"""OpenTelemetry tracing: one provider per process, gRPC and MongoDB instrumented, W3C context."""

from __future__ import annotations

import sys
import threading

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import (
    GrpcAioInstrumentorClient,
    GrpcAioInstrumentorServer,
    filters,
)
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.propagate import set_global_textmap
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from stint_runtime.settings import StintSettings


class _ReplaceableProcessor(SpanProcessor):
    """Forwards to the processor of the latest configuration: reconfiguring swaps the exporter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._target: SpanProcessor | None = None

    def replace(self, target: SpanProcessor | None) -> None:
        with self._lock:
            previous, self._target = self._target, target
        if previous is not None:
            previous.shutdown()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        target = self._target
        if target is not None:
            target.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        target = self._target
        if target is not None:
            target.on_end(span)

    def shutdown(self) -> None:
        self.replace(None)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        target = self._target
        return True if target is None else target.force_flush(timeout_millis)


_lock = threading.Lock()
_provider: TracerProvider | None = None
_processor = _ReplaceableProcessor()


def _processor_for(settings: StintSettings, exporter: SpanExporter | None) -> SpanProcessor | None:
    if exporter is not None:
        return SimpleSpanProcessor(exporter)
    if settings.otel_exporter == "console":
        return BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr))
    if settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_endpoint
        return BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
        )
    return None


def _install(provider: TracerProvider) -> None:
    trace.set_tracer_provider(provider)
    set_global_textmap(TraceContextTextMapPropagator())
    # Health and reflection are not traced: they are noise, and the aio server interceptor
    # breaks servicers that stream through context.write() (health's Watch).
    untraced = filters.any_of(filters.health_check(), filters.service_prefix("grpc.reflection"))
    instrumentors = (
        GrpcAioInstrumentorServer(filter_=filters.negate(untraced)),  # type: ignore[no-untyped-call]
        GrpcAioInstrumentorClient(filter_=filters.negate(untraced)),  # type: ignore[no-untyped-call]
        PymongoInstrumentor(),
    )
    for instrumentor in instrumentors:
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)


def configure_telemetry(
    settings: StintSettings, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Sets up tracing for this process and returns its provider; safe to call again.

    The first call fixes the resource (service.name) and instruments grpc.aio servers and
    clients created afterwards and pymongo; every call replaces the exporter: `exporter` when
    given (tests pass an InMemorySpanExporter), else settings.otel_exporter (none|console|otlp).
    """
    global _provider
    with _lock:
        if _provider is None:
            provider = TracerProvider(
                resource=Resource.create({SERVICE_NAME: settings.service_name})
            )
            provider.add_span_processor(_processor)
            _install(provider)
            _provider = provider
        _processor.replace(_processor_for(settings, exporter))
        return _provider


def flush_telemetry(timeout_seconds: float = 5.0) -> bool:
    """Exports the spans still buffered; call before the process exits."""
    return _processor.force_flush(int(timeout_seconds * 1000))
