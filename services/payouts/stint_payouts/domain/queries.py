"""Filters and pages of the list queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from stint_payouts.domain.ledger import Account
from stint_payouts.domain.payout import PayoutStatus

T = TypeVar("T")


@dataclass(frozen=True)
class PayoutFilter:
    student_id: str = ""
    employer_org_id: str = ""
    engagement_id: str = ""
    statuses: frozenset[PayoutStatus] = frozenset()


@dataclass(frozen=True)
class LedgerFilter:
    engagement_id: str = ""
    payout_id: str = ""
    account: Account | None = None
    account_owner_id: str = ""
    employer_org_id: str = ""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str = ""
