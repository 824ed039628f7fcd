"""Escrow of one engagement: funded at start, then settled (work accepted) or refunded, once.

The first event seen for an engagement funds its escrow from the engagement snapshot every
applications event carries, so an approval that overtakes its start is applied in order
(fund, then settle) and the later start changes nothing. The first outcome wins; later or
duplicate outcomes change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stint_runtime.values import Money

from stint_payouts.domain.ledger import (
    PERCENT,
    PLATFORM,
    Account,
    Leg,
    Transaction,
    platform_fee,
    split_escrow,
    transaction,
)


class EscrowStatus(StrEnum):
    FUNDED = "FUNDED"
    SETTLED = "SETTLED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True)
class EngagementSnapshot:
    """What payouts needs of an engagement, as the applications events carry it."""

    engagement_id: str
    listing_id: str
    employer_org_id: str
    student_id: str
    fee: Money


@dataclass(frozen=True)
class EscrowFunded:
    transaction: Transaction


@dataclass(frozen=True)
class EscrowRefunded:
    transaction: Transaction
    amount: Money
    reason: str


EscrowEvent = EscrowFunded | EscrowRefunded


@dataclass
class Escrow:
    engagement: EngagementSnapshot
    platform_fee: Money
    status: EscrowStatus
    funded_time: datetime
    payout_percent: int | None = None
    outcome_reason: str = ""
    version: int = 0
    events: list[EscrowEvent] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.engagement.engagement_id

    @property
    def total(self) -> int:
        return self.engagement.fee.amount_minor + self.platform_fee.amount_minor

    @property
    def currency(self) -> str:
        return self.engagement.fee.currency

    @classmethod
    def fund(cls, engagement: EngagementSnapshot, rate_basis_points: int, now: datetime) -> Escrow:
        """Charge the employer fee + platform fee into escrow."""
        escrow = cls(
            engagement=engagement,
            platform_fee=platform_fee(engagement.fee, rate_basis_points),
            status=EscrowStatus.FUNDED,
            funded_time=now,
        )
        org = engagement.employer_org_id
        funded = escrow._transaction(
            "fund",
            [
                Leg(Account.EMPLOYER_RECEIVABLE, org, escrow.total),
                Leg(Account.ESCROW, escrow.id, -escrow.total),
            ],
            "escrow funded: fee + platform fee charged to the employer",
            now,
        )
        escrow.events.append(EscrowFunded(funded))
        return escrow

    @property
    def open(self) -> bool:
        return self.status is EscrowStatus.FUNDED

    def settle(self, percent: int, now: datetime, reason: str) -> int:
        """Accepted work at `percent`: release escrow; returns the student's share (minor units).

        Nothing happens (0) once the escrow has an outcome.
        """
        if not 0 <= percent <= PERCENT:
            raise ValueError("percent must be within 0..100")
        if not self.open:
            return 0
        split = split_escrow(
            self.engagement.fee.amount_minor, self.platform_fee.amount_minor, percent
        )
        self.status = EscrowStatus.SETTLED
        self.payout_percent = percent
        self.outcome_reason = reason
        released = self._transaction(
            "release",
            [
                Leg(Account.ESCROW, self.id, self.total),
                Leg(Account.STUDENT_PAYABLE, self.engagement.student_id, -split.student),
                Leg(Account.PLATFORM_REVENUE, PLATFORM, -split.platform),
                Leg(
                    Account.EMPLOYER_RECEIVABLE,
                    self.engagement.employer_org_id,
                    -split.employer_refund,
                ),
            ],
            f"escrow released at {percent}%: {reason}",
            now,
        )
        if split.employer_refund:
            self.events.append(
                EscrowRefunded(released, Money(split.employer_refund, self.currency), reason)
            )
        return split.student

    def refund(self, now: datetime, reason: str) -> None:
        """No accepted work (cancelled or expired): everything in escrow back to the employer."""
        if not self.open:
            return
        self.status = EscrowStatus.REFUNDED
        self.payout_percent = 0
        self.outcome_reason = reason
        refunded = self._transaction(
            "refund",
            [
                Leg(Account.ESCROW, self.id, self.total),
                Leg(Account.EMPLOYER_RECEIVABLE, self.engagement.employer_org_id, -self.total),
            ],
            f"escrow refunded: {reason}",
            now,
        )
        self.events.append(EscrowRefunded(refunded, Money(self.total, self.currency), reason))

    def _transaction(
        self, kind: str, legs: list[Leg], description: str, now: datetime
    ) -> Transaction:
        made = transaction(
            f"{self.id}:{kind}",
            self.currency,
            legs,
            engagement_id=self.id,
            employer_org_id=self.engagement.employer_org_id,
            description=description,
            time=now,
        )
        self.transactions.append(made)
        return made
