"""What callers, events and timers ask of the payouts service."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stint_runtime.values import Actor

from stint_payouts.domain.account import PayoutMethod, TaxFormStatus
from stint_payouts.domain.escrow import EngagementSnapshot
from stint_payouts.domain.ledger import Account
from stint_payouts.domain.payout import Payout, PayoutStatus
from stint_payouts.domain.reconciliation import ProviderTransfer


class Outcome(StrEnum):
    STARTED = "STARTED"
    APPROVED = "APPROVED"
    RESOLVED = "RESOLVED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class RecordEngagement:
    """An applications event about an engagement's money: its start or its outcome."""

    outcome: Outcome
    engagement: EngagementSnapshot
    payout_percent: int = 100
    reason: str = ""


@dataclass(frozen=True)
class RegisterPayoutAccount:
    actor: Actor
    method: PayoutMethod
    destination: str
    country: str
    currency: str
    tax_form_status: TaxFormStatus


@dataclass(frozen=True)
class GetPayout:
    actor: Actor
    payout_id: str


@dataclass(frozen=True)
class ListPayouts:
    actor: Actor
    student_id: str = ""
    employer_org_id: str = ""
    engagement_id: str = ""
    statuses: frozenset[PayoutStatus] = frozenset()
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class GetBalance:
    actor: Actor
    student_id: str


@dataclass(frozen=True)
class RetryPayout:
    actor: Actor
    payout_id: str
    expected_version: int


@dataclass(frozen=True)
class GetLedger:
    actor: Actor
    engagement_id: str = ""
    payout_id: str = ""
    account: Account | None = None
    account_owner_id: str = ""
    employer_org_id: str = ""
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class StartAttempt:
    """Begin (or resume, after a crash) the provider call of a payout."""

    payout_id: str


@dataclass(frozen=True)
class RecordAttempt:
    """The outcome of the call made for attempt `attempt`: a transfer id, or a failure."""

    payout_id: str
    attempt: int
    transfer_id: str = ""
    failure: str = ""


@dataclass(frozen=True)
class FireRetry:
    payout_id: str


@dataclass(frozen=True)
class Reconcile:
    """Payouts as read after the provider's transfers were listed, and those transfers."""

    payouts: tuple[Payout, ...]
    transfers: tuple[ProviderTransfer, ...]
