"""What the use cases need from storage and from the payment provider."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from stint_runtime.values import Money

from stint_payouts.domain.account import PayoutAccount
from stint_payouts.domain.escrow import Escrow
from stint_payouts.domain.ledger import Leg, Transaction
from stint_payouts.domain.payout import Payout
from stint_payouts.domain.queries import LedgerFilter, Page, PayoutFilter
from stint_payouts.domain.reconciliation import ProviderTransfer, ReconciliationReport


@dataclass(frozen=True)
class LedgerEntry:
    """One stored leg with its transaction's context."""

    id: str
    transaction_id: str
    leg: Leg
    currency: str
    engagement_id: str
    employer_org_id: str
    payout_id: str
    description: str
    time: datetime


def entries_of(transaction: Transaction) -> list[LedgerEntry]:
    """A transaction's legs as ledger entries; their ids derive from the transaction's."""
    return [
        LedgerEntry(
            f"{transaction.id}:{number}",
            transaction.id,
            leg,
            transaction.currency,
            transaction.engagement_id,
            transaction.employer_org_id,
            transaction.payout_id,
            transaction.description,
            transaction.time,
        )
        for number, leg in enumerate(transaction.legs)
    ]


class EscrowRepository(Protocol):
    def get(self, engagement_id: str) -> Escrow | None: ...

    def add(self, escrow: Escrow) -> None:
        """Store a new escrow with its transactions and events."""

    def save(self, escrow: Escrow) -> None:
        """Store the change if unchanged since loaded (ConcurrencyConflict otherwise)."""


class PayoutRepository(Protocol):
    def get(self, payout_id: str) -> Payout | None: ...

    def add(self, payout: Payout) -> None: ...

    def save(self, payout: Payout) -> None: ...

    def of_student(self, student_id: str) -> list[Payout]: ...

    def due_for_attempt(self, now: datetime, limit: int) -> list[str]:
        """PENDING payouts, and PROCESSING ones whose attempt no process holds: oldest first."""

    def all(self) -> Iterator[Payout]: ...

    def list(self, query: PayoutFilter, page_size: int, page_token: str) -> Page[Payout]: ...


class AccountRepository(Protocol):
    def get(self, student_id: str) -> PayoutAccount | None: ...

    def put(self, account: PayoutAccount) -> None:
        """Insert (version 0) or replace if unchanged since loaded; bumps the version."""

    def serialize(self, student_id: str) -> None:
        """Make this unit of work conflict with every other that serializes the same student.

        Registering an account reads the student's payouts and creating a payout reads the
        account: under snapshot isolation both could commit unaware of each other and leave a
        payout HELD for an account that exists. A write both make turns that into a conflict,
        and the loser is retried on the winner's state.
        """


class Ledger(Protocol):
    def record(self, transaction: Transaction) -> None:
        """Write every leg; a transaction id already written is refused (AlreadyExists)."""

    def legs_of(self, owner_id: str) -> list[LedgerEntry]: ...

    def entries(
        self, query: LedgerFilter, page_size: int, page_token: str
    ) -> Page[LedgerEntry]: ...

    def unbalanced_transactions(self) -> list[str]:
        """Ids of transactions whose legs do not sum to zero (must be none)."""


class ReportRepository(Protocol):
    def add(self, report: ReconciliationReport) -> None: ...


class Store(Protocol):
    """The repositories of one unit of work."""

    @property
    def escrows(self) -> EscrowRepository: ...
    @property
    def payouts(self) -> PayoutRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def reports(self) -> ReportRepository: ...


@dataclass(frozen=True)
class TransferRequest:
    amount: Money
    destination: str = field(repr=False)
    idempotency_key: str
    # Our payout id: how a transfer is found again when a response was lost.
    transfer_group: str
    metadata: Mapping[str, str] = field(default_factory=dict)


class ProviderError(Exception):
    """A failed provider call; `reason` is safe to store and show (no destination in it)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Provider(Protocol):
    def create_transfer(self, request: TransferRequest) -> ProviderTransfer:
        """Make the transfer, or return the one this idempotency key already made."""

    def find_transfer(self, transfer_group: str) -> ProviderTransfer | None:
        """The transfer already made for a payout, if any."""

    def list_transfers(self) -> Iterator[ProviderTransfer]:
        """Every transfer the provider holds for this platform."""
