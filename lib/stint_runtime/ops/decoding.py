"""Kafka records shown to people: events decoded to JSON, bytes as text or base64."""

from __future__ import annotations

import base64
from typing import Any


def text_or_base64(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


def decode_event(value: bytes | None) -> dict[str, Any]:
    """{"envelope": ...} with `data` decoded to its event type, or {"undecodable": why}."""
    from google.protobuf import json_format

    from stint_runtime.messaging.envelope import InvalidEnvelopeError, decode_envelope, unpack

    try:
        envelope = decode_envelope(value)
    except InvalidEnvelopeError as error:
        return {"undecodable": str(error), "value": text_or_base64(value)}
    attributes = type(envelope)()
    attributes.CopyFrom(envelope)
    attributes.ClearField("data")  # json_format cannot print an Any of an unknown type
    shown = json_format.MessageToDict(attributes, preserving_proto_field_name=True)
    try:
        event = unpack(envelope)
    except Exception as error:  # an unknown or corrupt payload is shown, never fatal
        shown["data"] = {
            "@type": envelope.data.type_url,
            "undecodable": f"{type(error).__name__}: {error}",
            "value": "base64:" + base64.b64encode(envelope.data.value).decode("ascii"),
        }
    else:
        shown["data"] = {
            "@type": envelope.data.type_url,
            **json_format.MessageToDict(event, preserving_proto_field_name=True),
        }
    return {"envelope": shown}
