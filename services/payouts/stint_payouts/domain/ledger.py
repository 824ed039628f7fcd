"""The double-entry ledger: balanced transactions of signed legs, and the one rounding rule.

Debits are positive, credits negative; every transaction's legs sum to zero in one currency.
Balances are never stored: they are sums of legs. Transaction ids are derived from what moved
the money (engagement or payout id and the kind of movement), so a replayed event can never
write a second copy of a movement: storage refuses the duplicate id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stint_runtime.values import Money

PLATFORM = "platform"
PERCENT = 100
BASIS_POINTS = 10_000


class Account(StrEnum):
    EMPLOYER_RECEIVABLE = "EMPLOYER_RECEIVABLE"
    ESCROW = "ESCROW"
    STUDENT_PAYABLE = "STUDENT_PAYABLE"
    PLATFORM_REVENUE = "PLATFORM_REVENUE"
    CASH = "CASH"


class UnbalancedTransactionError(ValueError):
    """A transaction whose legs do not sum to zero, or mix currencies: a programming error."""


@dataclass(frozen=True)
class Leg:
    account: Account
    owner_id: str
    amount_minor: int


@dataclass(frozen=True)
class Transaction:
    """Legs that move money together, all or nothing."""

    id: str
    currency: str
    legs: tuple[Leg, ...]
    engagement_id: str
    employer_org_id: str
    description: str
    time: datetime
    payout_id: str = ""

    def __post_init__(self) -> None:
        if not self.legs:
            raise UnbalancedTransactionError(f"transaction {self.id} has no legs")
        if sum(leg.amount_minor for leg in self.legs) != 0:
            raise UnbalancedTransactionError(f"transaction {self.id} does not sum to zero")
        if any(leg.amount_minor == 0 for leg in self.legs):
            raise UnbalancedTransactionError(f"transaction {self.id} has an empty leg")


def transaction(
    id: str,
    currency: str,
    legs: Iterable[Leg],
    *,
    engagement_id: str,
    employer_org_id: str,
    description: str,
    time: datetime,
    payout_id: str = "",
) -> Transaction:
    """A transaction of the non-zero `legs` (a zero share simply moves nothing)."""
    return Transaction(
        id=id,
        currency=currency,
        legs=tuple(leg for leg in legs if leg.amount_minor != 0),
        engagement_id=engagement_id,
        employer_org_id=employer_org_id,
        description=description,
        time=time,
        payout_id=payout_id,
    )


def share(amount_minor: int, numerator: int, denominator: int) -> int:
    """THE rounding rule: the floor of amount * numerator / denominator, in minor units.

    Whoever receives a share gets the floor; the remainder stays with the party the rest is
    returned to (the employer), so no minor unit is ever created or lost.
    """
    if amount_minor < 0 or not 0 <= numerator <= denominator or denominator <= 0:
        raise ValueError("share needs a non-negative amount and a fraction in [0, 1]")
    return amount_minor * numerator // denominator


def platform_fee(fee: Money, rate_basis_points: int) -> Money:
    """The platform's fee on top of an engagement's fee (10 % = 1000 basis points)."""
    return Money(share(fee.amount_minor, rate_basis_points, BASIS_POINTS), fee.currency)


@dataclass(frozen=True)
class Split:
    """How escrow (fee + platform fee) divides when work is accepted at `percent`."""

    student: int
    platform: int
    employer_refund: int


def split_escrow(fee: int, fee_to_platform: int, percent: int) -> Split:
    student = share(fee, percent, PERCENT)
    platform = share(fee_to_platform, percent, PERCENT)
    return Split(student, platform, fee + fee_to_platform - student - platform)


def balance(legs: Sequence[Leg], account: Account, owner_id: str | None = None) -> int:
    """Debit-positive balance of an account (optionally one owner's) over `legs`."""
    return sum(
        leg.amount_minor
        for leg in legs
        if leg.account == account and (owner_id is None or leg.owner_id == owner_id)
    )
