"""Benchmarks that print figures (not tests): `make bench` runs every one of BENCHMARKS."""

from __future__ import annotations

from collections.abc import Callable

from tools.bench import (
    edge_overhead,
    listings_search,
    notifications_delivery,
    outbox_relay,
    payouts_latency,
)

BENCHMARKS: dict[str, Callable[[], None]] = {
    "listings_search": listings_search.run,
    "outbox_relay": outbox_relay.run,
    "payouts_latency": payouts_latency.run,
    "notifications_delivery": notifications_delivery.run,
    "edge_overhead": edge_overhead.run,
}
