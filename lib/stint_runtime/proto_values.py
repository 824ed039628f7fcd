"""Conversions between the shared values and their protobuf forms, for services' adapters."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from stint.common.v1 import money_pb2

from stint_runtime.values import Money, at_millis


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    message = Timestamp()
    message.FromDatetime(moment)
    return message


def moment(message: Timestamp) -> datetime:
    """A timezone-aware UTC datetime at the stored (millisecond) precision."""
    return at_millis(message.ToDatetime(tzinfo=UTC))


def money(value: Money) -> money_pb2.Money:
    return money_pb2.Money(amount_minor=value.amount_minor, currency=value.currency)


def money_from(message: money_pb2.Money) -> Money:
    return Money(amount_minor=message.amount_minor, currency=message.currency)
