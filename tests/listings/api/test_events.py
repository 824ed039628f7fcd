"""The `listings.v1` events a real Kafka consumer sees: type, key, order, envelope fields."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from stint.listings.v1 import events_pb2, resources_pb2, service_pb2
from stint.topics import LISTINGS
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import decode_envelope, unpack

from tests.listings.api.kit import ListingsClient, Status, content
from tests.support.messaging_kit import header, read_topic

pytestmark = pytest.mark.integration


async def events_of(client: ListingsClient, expected: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Records of listings.v1 keyed by the listing ids in `expected`, in offset order."""

    def by_listing(records: list[Any]) -> dict[str, list[Any]]:
        found: dict[str, list[Any]] = {listing_id: [] for listing_id in expected}
        for record in sorted(records, key=lambda r: (r.partition, r.offset)):
            key = record.key.decode() if record.key else ""
            if key in found:
                found[key].append(record)
        return found

    def complete(records: list[Any]) -> bool:
        found = by_listing(records)
        return all(len(found[key]) >= len(types) for key, types in expected.items())

    records = await read_topic(
        client.settings.kafka_bootstrap_servers, LISTINGS, until=complete, limit=30
    )
    return by_listing(records)


async def test_each_change_publishes_its_event_keyed_and_ordered_per_listing(
    client: ListingsClient, clock: ManualClock
) -> None:
    published = await client.close(await client.published())
    rejected = await client.create()
    rejected = (
        await client.call(
            "UpdateListing",
            service_pb2.UpdateListingRequest(
                listing_id=rejected.id,
                expected_version=rejected.version,
                content=content(clock.now(), title="Sharper title"),
            ),
        )
    ).listing
    rejected = await client.cancel(await client.reject(await client.submit(rejected)))
    expected = {
        published.id: ["ListingSubmitted", "ListingApproved", "ListingPublished", "ListingClosed"],
        rejected.id: ["ListingUpdated", "ListingSubmitted", "ListingRejected", "ListingCancelled"],
    }
    final_status = {
        "ListingSubmitted": Status.LISTING_STATUS_PENDING_REVIEW,
        "ListingApproved": Status.LISTING_STATUS_PENDING_REVIEW,
        "ListingPublished": Status.LISTING_STATUS_PUBLISHED,
        "ListingClosed": Status.LISTING_STATUS_CLOSED,
        "ListingUpdated": Status.LISTING_STATUS_DRAFT,
        "ListingRejected": Status.LISTING_STATUS_REJECTED,
        "ListingCancelled": Status.LISTING_STATUS_CANCELLED,
    }

    found = await events_of(client, expected)

    for listing_id, types in expected.items():
        records = found[listing_id]
        assert len({r.partition for r in records}) == 1, "one key, one partition"
        envelopes = [decode_envelope(r.value) for r in records]
        assert [e.type.rsplit(".", 1)[1] for e in envelopes] == types
        sequences = [e.sequence for e in envelopes]
        assert sequences == sorted(set(sequences)), f"sequence not increasing: {sequences}"
        for record, envelope in zip(records, envelopes, strict=True):
            assert record.key == listing_id.encode()
            assert envelope.source == "stint/listings"
            assert envelope.spec_version == "1.0"
            assert envelope.subject == listing_id
            assert envelope.data_schema == "stint.listings.v1"
            assert envelope.time.ToDatetime(tzinfo=UTC) == clock.now()
            assert header(record, "ce_type") == envelope.type
            assert header(record, "ce_id") == envelope.id
            event: Any = unpack(envelope)
            assert type(event).DESCRIPTOR.full_name == envelope.type
            assert event.listing_id == listing_id
            snapshot: resources_pb2.Listing = event.listing
            assert snapshot.id == listing_id
            assert snapshot.version == envelope.sequence
            assert snapshot.status == final_status[type(event).DESCRIPTOR.name]

    cancelled = unpack(decode_envelope(found[rejected.id][-1].value))
    assert isinstance(cancelled, events_pb2.ListingCancelled)
    assert cancelled.reason == "budget cut"


async def test_approval_is_announced_and_reads_publish_nothing(client: ListingsClient) -> None:
    approved = await client.pending(approved=True)
    await client.get(approved.id)
    await client.search()
    marker = await client.publish(approved)
    expected = ["ListingSubmitted", "ListingApproved", "ListingPublished"]
    found = await events_of(client, {marker.id: expected})
    types = [decode_envelope(r.value).type for r in found[marker.id]]
    assert types == [f"stint.listings.v1.{name}" for name in expected]
