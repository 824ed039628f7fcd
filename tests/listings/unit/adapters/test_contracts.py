"""The protobuf mapping: listings and events as the listings.v1 contract spells them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.listings.v1 import events_pb2, resources_pb2
from stint_listings.adapters import contracts
from stint_listings.domain import events
from stint_listings.domain.commands import FreeSeat, TakeSeat
from stint_listings.domain.model import ListingStatus
from stint_runtime.proto_values import money, timestamp

from tests.listings.builders import NOW, content, published


def test_every_status_has_its_proto_value() -> None:
    assert {s.value for s in ListingStatus} == {
        name.removeprefix("LISTING_STATUS_")
        for name in resources_pb2.ListingStatus.keys()  # noqa: SIM118 - an enum wrapper, not a dict
        if name != "LISTING_STATUS_UNSPECIFIED"
    }


def test_listing_message_carries_the_listing() -> None:
    listing = published()
    listing.seat_taken("e-1", NOW)
    message = contracts.listing_message(listing)
    assert message.status == resources_pb2.LISTING_STATUS_PUBLISHED
    assert (message.seats, message.seats_filled, message.fee.amount_minor) == (2, 1, 20_000)
    assert message.publish_time.ToDatetime().isoformat() == "2026-01-01T00:00:00"
    assert not message.HasField("end_time")
    assert list(message.deliverables[0].acceptance_criteria) == [
        "Loads in under 2s",
        "Shows totals",
    ]


def test_content_round_trips_at_millisecond_precision() -> None:
    expected = content()
    message = resources_pb2.ListingContent(
        title=expected.title,
        description=expected.description,
        skills=expected.skills,
        industry=expected.industry,
        deliverables=contracts.listing_message(published()).deliverables,
        estimated_hours=expected.estimated_hours,
        fee=money(expected.fee),
        seats=expected.seats,
        application_deadline=timestamp(expected.application_deadline + timedelta(microseconds=999)),
        due_date=timestamp(expected.due_date),
        remote=expected.remote,
        screening_questions=contracts.listing_message(published()).screening_questions,
    )
    assert contracts.content_from(message) == expected


@pytest.mark.parametrize(
    ("event", "message_type", "reason"),
    [
        (events.ListingSubmitted("l-1"), events_pb2.ListingSubmitted, None),
        (events.ListingPublished("l-1"), events_pb2.ListingPublished, None),
        (events.ListingUpdated("l-1"), events_pb2.ListingUpdated, None),
        (events.ListingRejected("l-1", "why"), events_pb2.ListingRejected, "why"),
        (events.ListingFilled("l-1"), events_pb2.ListingFilled, None),
        (events.ListingReopened("l-1"), events_pb2.ListingReopened, None),
        (events.ListingClosed("l-1", "done"), events_pb2.ListingClosed, "done"),
        (events.ListingCancelled("l-1", "cut"), events_pb2.ListingCancelled, "cut"),
        (events.ListingExpired("l-1"), events_pb2.ListingExpired, None),
    ],
)
def test_each_domain_event_becomes_its_contract_event(
    event: events.ListingEvent, message_type: type, reason: str | None
) -> None:
    listing = published()
    message = contracts.event_message(event, listing)
    assert isinstance(message, message_type)
    assert message.listing_id == "l-1"  # type: ignore[attr-defined]
    assert message.listing == contracts.listing_message(listing)  # type: ignore[attr-defined]
    if reason is not None:
        assert message.reason == reason  # type: ignore[attr-defined]


def test_engagement_events_become_seat_commands() -> None:
    engagement = applications_resources.Engagement(id="e-1", listing_id="l-1")
    started = applications_events.EngagementStarted(engagement_id="e-1", engagement=engagement)
    expired = applications_events.EngagementExpired(engagement_id="e-1", engagement=engagement)
    assert contracts.take_seat(started) == TakeSeat("l-1", "e-1")
    assert contracts.free_seat(expired) == FreeSeat("l-1", "e-1")
