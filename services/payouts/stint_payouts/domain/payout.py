"""The Payout aggregate: money owed to a student for one engagement (DESIGN.md §2).

PENDING -> PROCESSING -> PAID; PROCESSING -> RETRYING -> PROCESSING after a backoff (the `retry`
timer); -> FAILED when the retry budget is spent (RetryPayout gives a fresh budget);
PENDING <-> HELD while the student's account cannot receive it.

Provider calls happen outside any transaction: PROCESSING is committed first, with the attempt
number that names the call's idempotency key, so a crash before the outcome is committed
repeats the same call, which the provider answers with the same transfer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from stint_runtime.errors import FailedPrecondition
from stint_runtime.values import Money, at_millis

from stint_payouts.domain.ledger import Account, Leg, Transaction, transaction

RETRY_TIMER = "retry"


class PayoutStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    PAID = "PAID"
    RETRYING = "RETRYING"
    FAILED = "FAILED"
    HELD = "HELD"


S = PayoutStatus


def payout_id_for(engagement_id: str) -> str:
    """One payout per engagement: its id is derived from the engagement's."""
    return f"pay-{engagement_id}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter between provider attempts, within a budget."""

    max_attempts: int = 6
    initial: timedelta = timedelta(seconds=2)
    maximum: timedelta = timedelta(minutes=10)

    def delay(self, failed_attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
        """Before attempt n+1: a random share (at least half) of initial * 2^(n-1), capped."""
        ceiling: timedelta = min(self.maximum, self.initial * 2 ** max(failed_attempts - 1, 0))
        return ceiling * (0.5 + 0.5 * jitter())


@dataclass(frozen=True)
class PayoutScheduled:
    pass


@dataclass(frozen=True)
class PayoutHeld:
    reason: str


@dataclass(frozen=True)
class PayoutPaid:
    transaction: Transaction


@dataclass(frozen=True)
class PayoutFailed:
    reason: str


PayoutEvent = PayoutScheduled | PayoutHeld | PayoutPaid | PayoutFailed


@dataclass
class Payout:
    id: str
    engagement_id: str
    listing_id: str
    employer_org_id: str
    student_id: str
    amount: Money
    payout_percent: int
    status: PayoutStatus
    create_time: datetime
    update_time: datetime
    attempts: int = 0
    # Attempts since the budget was last (re)granted.
    budget_used: int = 0
    failure_reason: str = ""
    provider_transfer_id: str = ""
    next_attempt_time: datetime | None = None
    paid_time: datetime | None = None
    # While a process makes this attempt's call, others leave it alone (until it expires).
    lease_until: datetime | None = None
    version: int = 0
    events: list[PayoutEvent] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        engagement_id: str,
        listing_id: str,
        employer_org_id: str,
        student_id: str,
        amount: Money,
        payout_percent: int,
        now: datetime,
        hold_reason: str | None,
    ) -> Payout:
        if amount.amount_minor <= 0:
            raise ValueError("a payout pays a positive amount")
        payout = cls(
            id=payout_id_for(engagement_id),
            engagement_id=engagement_id,
            listing_id=listing_id,
            employer_org_id=employer_org_id,
            student_id=student_id,
            amount=amount,
            payout_percent=payout_percent,
            status=S.PENDING,
            create_time=now,
            update_time=now,
        )
        if hold_reason is None:
            payout.events.append(PayoutScheduled())
        else:
            payout.hold(hold_reason, now)
        return payout

    @property
    def idempotency_key(self) -> str:
        """Stable for one attempt: every repetition of the attempt's call uses it."""
        return f"stint-{self.id}-attempt-{self.attempts}"

    def wanted_timers(self) -> dict[str, datetime]:
        if self.status is S.RETRYING and self.next_attempt_time is not None:
            return {RETRY_TIMER: self.next_attempt_time}
        return {}

    def hold(self, reason: str, now: datetime) -> None:
        if self.status is not S.PENDING:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not PENDING")
        self.status = S.HELD
        self.failure_reason = reason
        self.update_time = now
        self.events.append(PayoutHeld(reason))

    def release(self, now: datetime) -> None:
        if self.status is not S.HELD:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not HELD")
        self.status = S.PENDING
        self.failure_reason = ""
        self.update_time = now
        self.events.append(PayoutScheduled())

    def start_attempt(self, now: datetime) -> None:
        """PENDING or RETRYING -> PROCESSING: the next provider call is attempt `attempts`."""
        if self.status not in (S.PENDING, S.RETRYING):
            raise FailedPrecondition(f"payout {self.id} is {self.status}: nothing to attempt")
        self._attempt(now)

    def retry(self, now: datetime) -> None:
        """Admin: FAILED -> PROCESSING with a fresh budget."""
        if self.status is not S.FAILED:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not FAILED")
        self.budget_used = 0
        self._attempt(now)

    def claim(self, now: datetime, lease: timedelta) -> bool:
        """Take the PROCESSING attempt for `lease` unless another process holds it."""
        if self.status is not S.PROCESSING:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not PROCESSING")
        if self.lease_until is not None and self.lease_until > now:
            return False
        self.lease_until = at_millis(now + lease)
        return True

    def _attempt(self, now: datetime) -> None:
        self.lease_until = None
        self.status = S.PROCESSING
        self.attempts += 1
        self.budget_used += 1
        self.next_attempt_time = None
        self.update_time = now

    def succeed(self, transfer_id: str, now: datetime) -> None:
        """The provider made the transfer: PAID, and the ledger pays the student from cash."""
        if self.status is not S.PROCESSING:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not PROCESSING")
        self.status = S.PAID
        self.lease_until = None
        self.provider_transfer_id = transfer_id
        self.failure_reason = ""
        self.paid_time = now
        self.update_time = now
        paid = transaction(
            f"{self.id}:paid",
            self.amount.currency,
            [
                Leg(Account.STUDENT_PAYABLE, self.student_id, self.amount.amount_minor),
                Leg(Account.CASH, "provider", -self.amount.amount_minor),
            ],
            engagement_id=self.engagement_id,
            employer_org_id=self.employer_org_id,
            description=f"paid by provider transfer {transfer_id}",
            time=now,
            payout_id=self.id,
        )
        self.transactions.append(paid)
        self.events.append(PayoutPaid(paid))

    def fail(self, reason: str, now: datetime, policy: RetryPolicy, jitter: float) -> None:
        """The attempt failed: RETRYING after a backoff, or FAILED when the budget is spent."""
        if self.status is not S.PROCESSING:
            raise FailedPrecondition(f"payout {self.id} is {self.status}, not PROCESSING")
        self.failure_reason = reason
        self.update_time = now
        self.lease_until = None
        if self.budget_used >= policy.max_attempts:
            self.status = S.FAILED
            self.events.append(PayoutFailed(reason))
            return
        self.status = S.RETRYING
        self.next_attempt_time = at_millis(now + policy.delay(self.budget_used, lambda: jitter))
