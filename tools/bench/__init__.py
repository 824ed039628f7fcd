"""Benchmarks that print figures (not tests): `make bench` runs every one of BENCHMARKS."""

from __future__ import annotations

from collections.abc import Callable

from tools.bench import listings_search, payouts_latency

BENCHMARKS: dict[str, Callable[[], None]] = {
    "listings_search": listings_search.run,
    "payouts_latency": payouts_latency.run,
}
