"""The metrics the runtime records appear on /metrics under the names operators alert on."""

from __future__ import annotations

import urllib.request

from stint_runtime import metrics
from stint_runtime.settings import load_settings

EXPECTED = (
    "stint_outbox_pending",
    "stint_outbox_parked",
    "stint_consumer_lag",
    "stint_events_processed_total",
    "stint_dead_letters_total",
    "stint_timers_due",
    "stint_timers_failed_total",
    "rpc_server_duration_milliseconds_count",
)


def test_every_runtime_series_is_served_in_the_prometheus_format() -> None:
    endpoint = metrics.serve_metrics(
        load_settings("listings").model_copy(update={"metrics_port": 0})
    )
    assert endpoint is not None
    try:
        where = {"database": "stint_test"}
        metrics.outbox_pending.set(2, where)
        metrics.outbox_parked.set(1, where)
        metrics.consumer_lag.set(5, {"topic": "t", "partition": "0", "group": "g"})
        metrics.events_processed.add(1, {"topic": "t", "outcome": "applied"})
        metrics.dead_letters.add(1, {"topic": "t", "group": "g"})
        metrics.timers_due.set(0, {"collection": "c"})
        metrics.timers_failed.add(1, {"collection": "c", "timer": "expire"})
        metrics.rpc_server_duration.record(1.5, {"rpc.method": "GetListing"})
        with urllib.request.urlopen(endpoint.url, timeout=5) as response:  # noqa: S310 - http
            assert response.headers["Content-Type"].startswith("text/plain")
            text = response.read().decode()
    finally:
        endpoint.stop()
    served = {line.split("{")[0] for line in text.splitlines() if not line.startswith("#")}
    assert set(EXPECTED) <= served
    [lag] = [
        line
        for line in text.splitlines()
        if line.startswith("stint_consumer_lag{") and 'group="g"' in line
    ]
    assert 'partition="0"' in lag
    assert 'topic="t"' in lag
    assert lag.endswith(" 5.0")


def test_metrics_can_be_turned_off() -> None:
    off = load_settings("listings").model_copy(update={"metrics_port": -1})
    assert metrics.serve_metrics(off) is None
