"""How `stint events tail` shows a record's value: decoded when it can be, described when not."""

from __future__ import annotations

from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1.events_pb2 import ListingPublished
from stint_runtime.cli import decode_event
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import new_envelope


def test_an_envelope_is_shown_with_its_attributes_and_its_event_fields() -> None:
    envelope = new_envelope(
        ListingPublished(listing_id="lst-9"),
        source="listings",
        subject="lst-9",
        clock=ManualClock(),
    )

    shown = decode_event(envelope.SerializeToString())["envelope"]

    assert (shown["id"], shown["source"], shown["subject"]) == (
        envelope.id,
        "stint/listings",
        "lst-9",
    )
    assert shown["data"]["listing_id"] == "lst-9"


def test_an_envelope_of_an_unknown_event_type_keeps_its_attributes_and_raw_data() -> None:
    envelope = EventEnvelope(id="e-1", type="stint.gone.v1.Vanished", subject="x")
    envelope.data.type_url = "type.googleapis.com/stint.gone.v1.Vanished"
    envelope.data.value = b"\x0a\x01x"

    shown = decode_event(envelope.SerializeToString())["envelope"]

    assert shown["id"] == "e-1"
    assert shown["data"]["@type"] == "type.googleapis.com/stint.gone.v1.Vanished"
    assert "UnknownEventTypeError" in shown["data"]["undecodable"]
    assert shown["data"]["value"] == "base64:CgF4"


def test_bytes_that_are_no_envelope_are_described_not_fatal() -> None:
    for value in (None, b"", b"plain text", b"\xff\xfe\x00"):
        shown = decode_event(value)

        assert "undecodable" in shown
        assert "envelope" not in shown
