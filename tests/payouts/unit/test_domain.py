"""The ledger's rounding, escrow's movements and the payout lifecycle, in plain Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from stint_payouts.domain.escrow import EngagementSnapshot, Escrow, EscrowFunded, EscrowRefunded
from stint_payouts.domain.ledger import (
    Account,
    Leg,
    UnbalancedTransactionError,
    balance,
    share,
    split_escrow,
    transaction,
)
from stint_payouts.domain.payout import (
    Payout,
    PayoutFailed,
    PayoutHeld,
    PayoutPaid,
    PayoutScheduled,
    PayoutStatus,
    RetryPolicy,
)
from stint_runtime.errors import FailedPrecondition
from stint_runtime.values import Money

NOW = datetime(2026, 3, 1, tzinfo=UTC)
S = PayoutStatus


def snapshot(fee: int = 25_000) -> EngagementSnapshot:
    return EngagementSnapshot("eng-1", "lst-1", "org-1", "stu-1", Money(fee, "USD"))


def payout(hold: str | None = None) -> Payout:
    return Payout.create(
        engagement_id="eng-1",
        listing_id="lst-1",
        employer_org_id="org-1",
        student_id="stu-1",
        amount=Money(25_000, "USD"),
        payout_percent=100,
        now=NOW,
        hold_reason=hold,
    )


class TestRounding:
    @pytest.mark.parametrize(
        ("percent", "student", "platform", "refund"),
        [(0, 0, 0, 27_500), (37, 9_250, 925, 17_325), (100, 25_000, 2_500, 0)],
    )
    def test_dispute_split_is_exact_in_minor_units(
        self, percent: int, student: int, platform: int, refund: int
    ) -> None:
        split = split_escrow(25_000, 2_500, percent)
        assert (split.student, split.platform, split.employer_refund) == (student, platform, refund)

    def test_the_remainder_of_an_uneven_split_goes_back_to_the_employer(self) -> None:
        split = split_escrow(10_001, 1_000, 37)
        assert split.student == 3_700  # floor(3700.37)
        assert split.platform == 370
        assert split.student + split.platform + split.employer_refund == 11_001

    def test_share_refuses_fractions_outside_zero_to_one(self) -> None:
        with pytest.raises(ValueError, match="fraction"):
            share(100, 101, 100)


class TestTransactions:
    def test_an_unbalanced_transaction_cannot_be_built(self) -> None:
        with pytest.raises(UnbalancedTransactionError):
            transaction(
                "t",
                "USD",
                [Leg(Account.CASH, "x", 5), Leg(Account.ESCROW, "y", -4)],
                engagement_id="e",
                employer_org_id="o",
                description="",
                time=NOW,
            )

    def test_zero_legs_are_dropped(self) -> None:
        made = transaction(
            "t",
            "USD",
            [Leg(Account.CASH, "x", 5), Leg(Account.ESCROW, "y", -5), Leg(Account.CASH, "z", 0)],
            engagement_id="e",
            employer_org_id="o",
            description="",
            time=NOW,
        )
        assert len(made.legs) == 2


class TestEscrow:
    def test_funding_charges_fee_plus_platform_fee(self) -> None:
        escrow = Escrow.fund(snapshot(), 1000, NOW)
        (funded,) = escrow.transactions
        assert balance(list(funded.legs), Account.EMPLOYER_RECEIVABLE) == 27_500
        assert balance(list(funded.legs), Account.ESCROW) == -27_500
        assert isinstance(escrow.events[0], EscrowFunded)

    def test_settling_at_37_percent_empties_escrow_and_refunds_the_rest(self) -> None:
        escrow = Escrow.fund(snapshot(), 1000, NOW)
        assert escrow.settle(37, NOW, "dispute resolved") == 9_250
        legs = [leg for t in escrow.transactions for leg in t.legs]
        assert balance(legs, Account.ESCROW) == 0
        assert balance(legs, Account.STUDENT_PAYABLE, "stu-1") == -9_250
        assert balance(legs, Account.PLATFORM_REVENUE) == -925
        assert balance(legs, Account.EMPLOYER_RECEIVABLE, "org-1") == 27_500 - 17_325
        refunded = [e for e in escrow.events if isinstance(e, EscrowRefunded)]
        assert [e.amount for e in refunded] == [Money(17_325, "USD")]

    def test_cancel_refunds_everything_and_later_outcomes_change_nothing(self) -> None:
        escrow = Escrow.fund(snapshot(), 1000, NOW)
        escrow.refund(NOW, "cancelled")
        assert escrow.settle(100, NOW, "approved") == 0
        legs = [leg for t in escrow.transactions for leg in t.legs]
        assert balance(legs, Account.EMPLOYER_RECEIVABLE, "org-1") == 0
        assert balance(legs, Account.STUDENT_PAYABLE) == 0


class TestPayoutLifecycle:
    def test_created_pending_or_held(self) -> None:
        assert payout().status is S.PENDING
        assert isinstance(payout().events[0], PayoutScheduled)
        held = payout(hold="no account")
        assert held.status is S.HELD
        assert isinstance(held.events[0], PayoutHeld)
        held.release(NOW)
        assert str(held.status) == S.PENDING

    def test_attempts_retry_with_backoff_then_fail_after_the_budget(self) -> None:
        policy = RetryPolicy(max_attempts=3, initial=timedelta(seconds=2))
        p = payout()
        p.start_attempt(NOW)
        p.fail("503", NOW, policy, jitter=1.0)
        assert p.status is S.RETRYING
        assert p.next_attempt_time == NOW + timedelta(seconds=2)
        assert p.wanted_timers() == {"retry": NOW + timedelta(seconds=2)}
        p.start_attempt(NOW)
        p.fail("503", NOW, policy, jitter=0.0)
        assert p.next_attempt_time == NOW + timedelta(seconds=2)  # half of 4 s at the least jitter
        p.start_attempt(NOW)
        p.fail("503", NOW, policy, jitter=0.5)
        assert str(p.status) == S.FAILED
        assert p.failure_reason == "503"
        assert isinstance(p.events[-1], PayoutFailed)
        p.retry(NOW)
        assert (p.status, p.attempts, p.budget_used) == (S.PROCESSING, 4, 1)
        assert p.idempotency_key.endswith("attempt-4")

    def test_backoff_is_capped(self) -> None:
        policy = RetryPolicy(initial=timedelta(seconds=1), maximum=timedelta(seconds=30))
        assert policy.delay(20, lambda: 1.0) == timedelta(seconds=30)

    def test_paid_once_with_a_balanced_ledger_transaction(self) -> None:
        p = payout()
        p.start_attempt(NOW)
        p.succeed("tr_1", NOW)
        (paid,) = p.transactions
        assert balance(list(paid.legs), Account.STUDENT_PAYABLE, "stu-1") == 25_000
        assert isinstance(p.events[-1], PayoutPaid)
        with pytest.raises(FailedPrecondition):
            p.succeed("tr_2", NOW)
        with pytest.raises(FailedPrecondition):
            p.retry(NOW)


def test_an_attempt_is_leased_to_one_caller_until_the_lease_expires() -> None:
    p = payout()
    p.start_attempt(NOW)
    assert p.claim(NOW, timedelta(seconds=30))
    assert not p.claim(NOW + timedelta(seconds=29), timedelta(seconds=30))
    assert p.claim(NOW + timedelta(seconds=30), timedelta(seconds=30))
