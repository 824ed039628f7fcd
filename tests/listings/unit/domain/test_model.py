"""The listing lifecycle: every allowed transition, every refused one, seats and timers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from stint_listings.domain import events
from stint_listings.domain.model import EXPIRE_TIMER, Listing, ListingStatus
from stint_runtime.errors import FailedPrecondition, InvalidArgument

from tests.listings.builders import ADMIN, NOW, RULES, content, draft, in_state, published

S = ListingStatus
AFTER_DEADLINE = NOW + timedelta(days=6)

Action = Callable[[Listing], None]
ACTIONS: dict[str, tuple[Action, frozenset[ListingStatus], ListingStatus | None]] = {
    # name: (action, states it is allowed in, resulting state (None: unchanged))
    "update": (
        lambda li: li.update(content(title="New title"), RULES, NOW),
        frozenset({S.DRAFT, S.REJECTED, S.PENDING_REVIEW}),
        None,
    ),
    "submit_for_review": (
        lambda li: li.submit_for_review(RULES, NOW),
        frozenset({S.DRAFT, S.REJECTED}),
        S.PENDING_REVIEW,
    ),
    "approve": (
        lambda li: li.approve(ADMIN.subject, NOW),
        frozenset({S.PENDING_REVIEW}),
        S.PENDING_REVIEW,
    ),
    "reject": (
        lambda li: li.reject(ADMIN.subject, "off-topic", NOW),
        frozenset({S.PENDING_REVIEW}),
        S.REJECTED,
    ),
    "close": (lambda li: li.close("enough", NOW), frozenset({S.PUBLISHED, S.FILLED}), S.CLOSED),
    "cancel": (
        lambda li: li.cancel("budget cut", NOW),
        frozenset({S.DRAFT, S.PENDING_REVIEW, S.PUBLISHED, S.FILLED, S.REJECTED}),
        S.CANCELLED,
    ),
    "expire": (lambda li: li.expire(AFTER_DEADLINE), frozenset({S.PUBLISHED}), S.EXPIRED),
}
CASES = [(name, status) for name in ACTIONS for status in ListingStatus]
# Editing a listing under review sends it back to DRAFT (review again).
RESULT_IN = {("update", S.PENDING_REVIEW): S.DRAFT}


@pytest.mark.parametrize(("action", "status"), CASES)
def test_each_command_is_allowed_exactly_in_its_states(action: str, status: ListingStatus) -> None:
    run, allowed, result = ACTIONS[action]
    listing = in_state(status)
    if status in allowed:
        run(listing)
        assert listing.status is RESULT_IN.get((action, status), result or status)
    else:
        with pytest.raises(FailedPrecondition, match=status.value):
            run(listing)
        assert listing.status is status
        assert listing.events == []


@pytest.mark.parametrize("status", list(ListingStatus))
def test_publish_needs_an_approved_pending_review_listing(status: ListingStatus) -> None:
    listing = in_state(status, approved=True)
    if status is S.PENDING_REVIEW:
        listing.publish(RULES, NOW)
        assert (listing.status, listing.publish_time) == (S.PUBLISHED, NOW)
        assert listing.events == [events.ListingPublished("l-1")]
    else:
        with pytest.raises(FailedPrecondition, match=status.value):
            listing.publish(RULES, NOW)


def test_the_whole_lifecycle_appends_one_event_per_state_change() -> None:
    listing = draft()
    listing.update(content(title="Better title"), RULES, NOW)
    listing.submit_for_review(RULES, NOW)
    listing.reject(ADMIN.subject, "needs a clearer scope", NOW)
    assert listing.moderation_reason == "needs a clearer scope"
    listing.update(content(title="Clear scope"), RULES, NOW)
    listing.submit_for_review(RULES, NOW)
    assert (listing.moderation_reason, listing.end_time) == ("", None)
    listing.approve(ADMIN.subject, NOW)
    listing.publish(RULES, NOW)
    listing.close("hired enough", NOW)

    assert listing.events == [
        events.ListingUpdated("l-1"),
        events.ListingSubmitted("l-1"),
        events.ListingRejected("l-1", "needs a clearer scope"),
        events.ListingUpdated("l-1"),
        events.ListingSubmitted("l-1"),
        events.ListingApproved("l-1"),
        events.ListingPublished("l-1"),
        events.ListingClosed("l-1", "hired enough"),
    ]
    assert (listing.status, listing.end_time) == (S.CLOSED, NOW)


def test_approval_is_recorded_with_its_event_and_only_once() -> None:
    listing = in_state(S.PENDING_REVIEW)
    listing.approve(ADMIN.subject, NOW)
    assert (listing.approved, listing.reviewed_by) == (True, ADMIN.subject)
    assert listing.events == [events.ListingApproved("l-1")]
    with pytest.raises(FailedPrecondition, match="already approved"):
        listing.approve(ADMIN.subject, NOW)


def test_publishing_before_approval_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="before approval"):
        in_state(S.PENDING_REVIEW).publish(RULES, NOW)


def test_rejection_withdraws_an_approval() -> None:
    listing = in_state(S.PENDING_REVIEW, approved=True)
    listing.reject(ADMIN.subject, "changed my mind", NOW)
    assert not listing.approved


def test_expiring_before_the_deadline_is_refused() -> None:
    with pytest.raises(FailedPrecondition, match="deadline"):
        published().expire(NOW)


@pytest.mark.parametrize(
    ("status", "act"),
    [
        (S.PENDING_REVIEW, lambda li: li.reject(ADMIN.subject, " ", NOW)),
        (S.DRAFT, lambda li: li.cancel("", NOW)),
        (S.PUBLISHED, lambda li: li.close("x" * 2001, NOW)),
    ],
    ids=["reject-empty", "cancel-empty", "close-too-long"],
)
def test_reasons_are_required_and_bounded(status: ListingStatus, act: Action) -> None:
    listing = in_state(status)
    with pytest.raises(InvalidArgument) as refused:
        act(listing)
    assert refused.value.field == "reason"
    assert listing.status is status


def test_the_last_seat_fills_the_listing_and_a_freed_one_reopens_it() -> None:
    listing = published(seats=2)
    assert listing.seat_taken("e-1", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.PUBLISHED, 1)
    assert listing.seat_taken("e-2", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.FILLED, 2)
    assert listing.seat_freed("e-1", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.PUBLISHED, 1)
    assert listing.events == [events.ListingFilled("l-1"), events.ListingReopened("l-1")]


def test_a_redelivered_seat_event_counts_once() -> None:
    listing = published(seats=3)
    assert listing.seat_taken("e-1", NOW) is True
    assert listing.seat_taken("e-1", NOW) is False
    assert listing.seats_filled == 1
    assert listing.seat_freed("e-1", NOW) is True
    assert listing.seat_freed("e-1", NOW) is False
    assert listing.seat_freed("never-held", NOW) is False
    assert listing.seats_filled == 0


def test_a_start_on_a_full_listing_waits_and_never_over_fills() -> None:
    listing = published(seats=1)
    assert listing.seat_taken("e-1", NOW) is True
    assert listing.seat_taken("e-2", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.FILLED, 1)
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-1"}), ("e-2",))
    assert listing.events == [events.ListingFilled("l-1")]


def test_a_start_redelivered_while_holding_or_waiting_is_a_no_op() -> None:
    listing = published(seats=1)
    listing.seat_taken("e-1", NOW)
    listing.seat_taken("e-2", NOW)
    listing.events.clear()
    assert listing.seat_taken("e-1", NOW) is False
    assert listing.seat_taken("e-2", NOW) is False
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-1"}), ("e-2",))
    assert listing.events == []


def test_a_cancellation_arriving_after_a_waiting_start_hands_the_seat_on() -> None:
    """E1 cancelled and E2 started, consumed in the other order: E2 keeps the seat."""
    listing = published(seats=1)
    listing.seat_taken("e-1", NOW)
    listing.seat_taken("e-2", NOW)
    listing.events.clear()

    assert listing.seat_freed("e-1", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.FILLED, 1)
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-2"}), ())
    assert listing.events == []
    assert listing.seat_freed("e-1", NOW) is False

    assert listing.seat_freed("e-2", NOW) is True
    assert (listing.status, listing.seats_filled) == (S.PUBLISHED, 0)
    assert listing.events == [events.ListingReopened("l-1")]
    assert listing.seat_freed("e-2", NOW) is False
    assert listing.events == [events.ListingReopened("l-1")]


def test_the_earliest_waiting_engagement_gets_the_freed_seat() -> None:
    listing = published(seats=2)
    for engagement in ("e-1", "e-2", "e-3", "e-4"):
        listing.seat_taken(engagement, NOW)
    assert list(listing.seat_waiting) == ["e-3", "e-4"]
    listing.seat_freed("e-2", NOW)
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-1", "e-3"}), ("e-4",))
    assert (listing.status, listing.seats_filled) == (S.FILLED, 2)


def test_cancelling_a_waiting_engagement_only_removes_it_from_the_line() -> None:
    listing = published(seats=1)
    for engagement in ("e-1", "e-2", "e-3"):
        listing.seat_taken(engagement, NOW)
    listing.events.clear()
    assert listing.seat_freed("e-2", NOW) is True
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-1"}), ("e-3",))
    assert (listing.status, listing.seats_filled, listing.events) == (S.FILLED, 1, [])
    assert listing.seat_freed("e-2", NOW) is False


@pytest.mark.parametrize("status", [S.CLOSED, S.EXPIRED])
def test_a_start_beyond_the_seats_of_a_closed_listing_waits_too(status: ListingStatus) -> None:
    listing = in_state(status, seats=1)
    listing.seat_taken("e-1", NOW)
    listing.seat_taken("e-2", NOW)
    listing.seat_freed("e-1", NOW)
    assert (listing.seat_holders, listing.seat_waiting) == (frozenset({"e-2"}), ())
    assert (listing.status, listing.events) == (status, [])


@pytest.mark.parametrize("status", [S.CLOSED, S.EXPIRED])
def test_seats_still_count_after_a_close_or_expiry(status: ListingStatus) -> None:
    listing = in_state(status)
    assert listing.seat_taken("e-1", NOW) is True
    assert (listing.status, listing.seats_filled, listing.events) == (status, 1, [])


@pytest.mark.parametrize("status", [S.DRAFT, S.PENDING_REVIEW, S.REJECTED, S.CANCELLED])
def test_seats_are_refused_where_no_engagement_can_start(status: ListingStatus) -> None:
    with pytest.raises(FailedPrecondition, match=status.value):
        in_state(status).seat_taken("e-1", NOW)


@pytest.mark.parametrize("status", list(ListingStatus))
def test_only_a_published_listing_wants_its_expiry_timer(status: ListingStatus) -> None:
    listing = in_state(status)
    expected = {EXPIRE_TIMER: listing.content.application_deadline} if status is S.PUBLISHED else {}
    assert listing.wanted_timers() == expected


def test_a_listing_reopened_after_its_deadline_wants_an_already_due_timer() -> None:
    listing = published(seats=1)
    listing.seat_taken("e-1", NOW)
    assert listing.wanted_timers() == {}
    listing.seat_freed("e-1", AFTER_DEADLINE)
    assert listing.wanted_timers()[EXPIRE_TIMER] < AFTER_DEADLINE
