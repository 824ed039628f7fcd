"""Small immutable values shared by the aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Money:
    """An amount in integer minor units of an ISO 4217 currency; never a float."""

    amount_minor: int
    currency: str


def at_millis(moment: datetime) -> datetime:
    """Timestamps are kept at millisecond precision, as MongoDB stores them."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
