"""The retry schedule and dead-letter topic naming."""

from __future__ import annotations

import pytest
from stint_runtime.messaging.backoff import Backoff
from stint_runtime.messaging.topics import dead_letter_topic


def test_backoff_doubles_from_the_initial_delay_up_to_the_maximum() -> None:
    assert Backoff(initial=0.2, maximum=1.0).schedule(6) == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_one_attempt_means_no_delay() -> None:
    assert Backoff().schedule(1) == []
    assert Backoff().delay(0) == 0.0


@pytest.mark.parametrize(("failed", "expected"), [(1, 0.01), (2, 0.02), (3, 0.04), (10, 0.05)])
def test_backoff_delay(failed: int, expected: float) -> None:
    assert Backoff(initial=0.01, maximum=0.05).delay(failed) == pytest.approx(expected)


def test_dead_letter_topics_are_per_group_and_source_topic() -> None:
    assert dead_letter_topic("notifications", "listings.v1") == "notifications.listings.v1.dlt"
    assert dead_letter_topic("payouts", "listings.v1") != dead_letter_topic(
        "notifications", "listings.v1"
    )
