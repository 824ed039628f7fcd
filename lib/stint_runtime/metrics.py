"""OpenTelemetry metrics, exported for Prometheus on an HTTP /metrics endpoint per service.

The instruments live here, once; the parts of the runtime record into them. The first call to
`configure_metrics` in a process installs the meter provider (the Prometheus reader feeds the
prometheus_client registry that the endpoint serves).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from opentelemetry import metrics
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from prometheus_client import start_http_server

from stint_runtime.settings import StintSettings

log = logging.getLogger("stint.metrics")
meter = metrics.get_meter("stint")

outbox_pending = meter.create_gauge(
    "stint_outbox_pending", description="Committed events not yet published"
)
outbox_parked = meter.create_gauge(
    "stint_outbox_parked", description="Outbox records parked after failing to publish"
)
outbox_oldest_pending_age = meter.create_gauge(
    "stint_outbox_oldest_pending_age_seconds",
    description="Age of the oldest committed event not yet published",
)
consumer_lag = meter.create_gauge(
    "stint_consumer_lag", description="Records behind the end of a partition, per topic/partition"
)
events_processed = meter.create_counter(
    "stint_events_processed", description="Consumed events by outcome"
)
dead_letters = meter.create_counter(
    "stint_dead_letters", description="Records sent to a dead-letter topic"
)
timers_due = meter.create_gauge("stint_timers_due", description="Timers due at the last pass")
timers_failed = meter.create_counter(
    "stint_timers_failed", description="Timers given up after their retry budget"
)
rpc_server_duration = meter.create_histogram(
    "rpc.server.duration", unit="ms", description="Duration of inbound RPCs"
)
rpc_server_active = meter.create_up_down_counter(
    "rpc.server.active_requests", description="Inbound RPCs in progress"
)

_lock = threading.Lock()
_provider: MeterProvider | None = None


@dataclass
class MetricsEndpoint:
    """A running /metrics HTTP server."""

    server: WSGIServer
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def configure_metrics(settings: StintSettings) -> None:
    """Install the meter provider once per process (later calls keep the first)."""
    global _provider
    with _lock:
        if _provider is None:
            _provider = MeterProvider(
                metric_readers=[PrometheusMetricReader()],
                resource=Resource.create({SERVICE_NAME: settings.service_name}),
            )
            metrics.set_meter_provider(_provider)


def serve_metrics(settings: StintSettings) -> MetricsEndpoint | None:
    """Start /metrics on settings.metrics_address; None when metrics are turned off (port -1)."""
    configure_metrics(settings)
    port = settings.metrics_port_or_default
    if port < 0:
        return None
    server, _ = start_http_server(port, addr=settings.metrics_host)
    bound = server.server_address[1]
    log.info("metrics served", extra={"address": f"{settings.metrics_host}:{bound}"})
    return MetricsEndpoint(server, settings.metrics_host, int(bound))
