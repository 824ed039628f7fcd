"""Timer helpers that keep timers inside the aggregate's document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.timers import (
    cancel_all_timers,
    cancel_timer,
    set_timer,
    timer_due_at,
)

DUE = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_set_timer_stores_utc_milliseconds_and_replaces_a_timer_of_the_same_name() -> None:
    document: Document = {"_id": "a"}
    set_timer(document, "expire", DUE)
    set_timer(document, "remind", DUE)
    set_timer(document, "expire", DUE + timedelta(days=1))

    assert document["timers"] == [
        {"name": "remind", "due_at": DUE.replace(microsecond=123000)},
        {"name": "expire", "due_at": DUE.replace(microsecond=123000) + timedelta(days=1)},
    ]


def test_due_times_in_other_zones_are_stored_in_utc() -> None:
    document: Document = {}
    set_timer(document, "expire", datetime(2026, 5, 1, 14, tzinfo=timezone(timedelta(hours=2))))
    assert timer_due_at(document, "expire") == datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_timer({}, "expire", datetime(2026, 5, 1))


def test_cancel() -> None:
    document: Document = {}
    set_timer(document, "expire", DUE)
    set_timer(document, "remind", DUE)

    cancel_timer(document, "expire")
    cancel_timer(document, "never-set")
    assert timer_due_at(document, "expire") is None
    assert timer_due_at(document, "remind") is not None

    cancel_all_timers(document)
    assert document["timers"] == []
