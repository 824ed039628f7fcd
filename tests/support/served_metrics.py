"""Read a series from this process's Prometheus registry (what an in-process service serves)."""

from __future__ import annotations

from prometheus_client import REGISTRY


def series_total(name: str) -> float:
    """The sum of every sample named `name` (0 when the series was never recorded)."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == name
    )
