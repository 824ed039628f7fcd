"""Listing snapshots (newest wins, closures) and the seat count."""

from __future__ import annotations

import pytest
from stint_applications.domain.listing import CLOSING_REASONS, ListingStatus
from stint_applications.domain.seats import Seats
from stint_runtime.errors import FailedPrecondition

from tests.applications.builders import NOW, listing

L = ListingStatus


def test_an_older_snapshot_never_replaces_a_newer_one() -> None:
    stored = listing(version=5)
    assert listing(version=6).supersedes(stored)
    assert not listing(version=5).supersedes(stored)
    assert not listing(version=4).supersedes(stored)
    assert listing(version=1).supersedes(None)


@pytest.mark.parametrize("status", list(CLOSING_REASONS))
def test_entering_a_closing_state_gives_a_reason_once(status: ListingStatus) -> None:
    closed = listing(status=status, version=6)
    assert closed.closing_reason(listing()) == CLOSING_REASONS[status]
    assert closed.closing_reason(listing(status=status)) is None


@pytest.mark.parametrize("status", [L.PUBLISHED, L.DRAFT, L.PENDING_REVIEW, L.REJECTED])
def test_other_states_close_nothing(status: ListingStatus) -> None:
    assert listing(status=status).closing_reason(listing(status=L.FILLED)) is None


def test_open_for_applications_until_the_deadline() -> None:
    snapshot = listing()
    assert snapshot.open_for_applications(NOW)
    assert not snapshot.open_for_applications(snapshot.application_deadline)


def test_seats_run_out_and_free_up() -> None:
    seats = Seats("l-1")
    seats.take("e-1", 2)
    seats.take("e-1", 2)  # the same engagement counts once
    seats.take("e-2", 2)
    with pytest.raises(FailedPrecondition, match="2 seat"):
        seats.take("e-3", 2)
    assert seats.free("e-1")
    assert not seats.free("e-1")
    seats.take("e-3", 2)
    assert seats.holders == frozenset({"e-2", "e-3"})
