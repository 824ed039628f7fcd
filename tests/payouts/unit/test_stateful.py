"""The money invariants as a hypothesis state machine over the service layer.

Engagements start, are approved (by hand or automatically), disputed at any share, cancelled or
expire, in any order (an outcome may overtake its start) and with redeliveries; accounts are
registered (sometimes in the wrong currency or without a tax form); payouts are attempted while
the provider succeeds, fails, loses its response or the caller crashes mid-call; retry timers
fire and admins retry failed payouts. After every step: every transaction sums to zero, no
escrow is negative, each engagement has at most one payout and one transfer, a student is never
paid more than the fee, and a PAID payout matches exactly one transfer of its amount.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
)
from stint_payouts.domain import commands as c
from stint_payouts.domain.account import PayoutMethod, TaxFormStatus
from stint_payouts.domain.escrow import EngagementSnapshot
from stint_payouts.domain.ledger import Account, share
from stint_payouts.domain.payout import PayoutStatus, RetryPolicy, payout_id_for
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.handlers import Context, Rules
from stint_payouts.service_layer.processing import process_payout, reconcile
from stint_runtime.clock import ManualClock
from stint_runtime.values import Actor, Money

from tests.payouts.unit.fakes import FakeDatabase, FakeProvider, ProviderCrashError

STUDENTS = ("stu-a", "stu-b")
ADMIN = Actor("adm", "admin")
S = PayoutStatus


class PayoutsMachine(RuleBasedStateMachine):
    engagements = Bundle("engagements")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
        self.db = FakeDatabase(
            Context(self.clock, Rules(retry=RetryPolicy(max_attempts=3)), jitter=lambda: 0.5)
        )
        self.provider = FakeProvider()
        self.fees: dict[str, int] = {}
        self.delivered: list[c.RecordEngagement] = []
        self.serial = 0

    def _deliver(self, command: c.RecordEngagement) -> None:
        self.delivered.append(command)
        self.db.run(handlers.record_engagement, command)

    @rule(target=engagements, fee=st.integers(1, 5_000_000), student=st.sampled_from(STUDENTS))
    def new_engagement(self, fee: int, student: str) -> EngagementSnapshot:
        self.serial += 1
        snapshot = EngagementSnapshot(
            f"eng-{self.serial}", "lst-1", f"org-{self.serial % 2}", student, Money(fee, "USD")
        )
        self.fees[snapshot.engagement_id] = fee
        return snapshot

    @rule(engagement=engagements)
    def start(self, engagement: EngagementSnapshot) -> None:
        self._deliver(c.RecordEngagement(c.Outcome.STARTED, engagement))

    @rule(
        engagement=engagements,
        outcome=st.sampled_from(
            [c.Outcome.APPROVED] * 3 + [c.Outcome.CANCELLED, c.Outcome.EXPIRED]
        ),
    )
    def decide(self, engagement: EngagementSnapshot, outcome: c.Outcome) -> None:
        self._deliver(c.RecordEngagement(outcome, engagement, reason=outcome.lower()))

    @rule(engagement=engagements, percent=st.integers(0, 100))
    def resolve_dispute(self, engagement: EngagementSnapshot, percent: int) -> None:
        self._deliver(c.RecordEngagement(c.Outcome.RESOLVED, engagement, payout_percent=percent))

    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        if self.delivered:
            self.db.run(handlers.record_engagement, data.draw(st.sampled_from(self.delivered)))

    @rule(
        student=st.sampled_from(STUDENTS),
        currency=st.sampled_from(["USD", "USD", "EUR"]),
        tax=st.sampled_from(list(TaxFormStatus)),
    )
    def register_account(self, student: str, currency: str, tax: TaxFormStatus) -> None:
        self.db.run(
            handlers.register_account,
            c.RegisterPayoutAccount(
                Actor(student, "student"),
                PayoutMethod.BANK_ACCOUNT,
                "acct_000123456789",
                "US",
                currency,
                tax,
            ),
        )

    @rule(
        engagement=engagements,
        mode=st.sampled_from(["ok", "ok", "fail", "decline", "lost", "crash"]),
    )
    def process(self, engagement: EngagementSnapshot, mode: str) -> None:
        self.provider.script = [mode]
        with contextlib.suppress(ProviderCrashError):
            process_payout(self.db.run, self.provider, payout_id_for(engagement.engagement_id))
        self.provider.script = []

    @rule()
    def time_passes(self) -> None:
        """Leases of attempts a crashed caller held expire."""
        self.clock.advance(timedelta(minutes=1))

    @rule(engagement=engagements)
    def retry_timer_fires(self, engagement: EngagementSnapshot) -> None:
        self.clock.advance(timedelta(minutes=15))
        self.db.run(handlers.fire_retry, c.FireRetry(payout_id_for(engagement.engagement_id)))

    @rule(engagement=engagements)
    def admin_retries(self, engagement: EngagementSnapshot) -> None:
        payout = self.db.state.payouts.get(payout_id_for(engagement.engagement_id))
        if payout is not None and payout.status is S.FAILED:
            self.db.run(handlers.retry_payout, c.RetryPayout(ADMIN, payout.id, payout.version))

    @rule()
    def reconcile(self) -> None:
        report = reconcile(self.db.run, self.provider)
        assert report.ledger_balanced
        assert not report.drifts, report.drifts

    @invariant()
    def every_transaction_balances(self) -> None:
        for made in self.db.state.transactions.values():
            assert sum(leg.amount_minor for leg in made.legs) == 0

    @invariant()
    def escrow_is_never_negative(self) -> None:
        escrow: dict[str, int] = {}
        for made in self.db.state.transactions.values():
            for leg in made.legs:
                if leg.account is Account.ESCROW:
                    escrow[leg.owner_id] = escrow.get(leg.owner_id, 0) - leg.amount_minor
        assert all(held >= 0 for held in escrow.values())

    @invariant()
    def one_payout_and_at_most_one_transfer_per_engagement(self) -> None:
        payouts = list(self.db.state.payouts.values())
        assert len({p.engagement_id for p in payouts}) == len(payouts)
        for payout in payouts:
            transfers = self.provider.transfers_of(payout.id)
            assert len(transfers) <= 1
            assert sum(t.amount.amount_minor for t in transfers) <= self.fees[payout.engagement_id]
            assert payout.amount.amount_minor == share(
                self.fees[payout.engagement_id], payout.payout_percent, 100
            )
            if payout.status is S.PAID:
                (transfer,) = transfers
                assert (transfer.id, transfer.amount) == (
                    payout.provider_transfer_id,
                    payout.amount,
                )
                assert payout.transactions == []
                assert f"{payout.id}:paid" in self.db.state.transactions
            else:
                assert f"{payout.id}:paid" not in self.db.state.transactions
        assert {t.payout_id for t in self.provider.transfers.values()} <= {p.id for p in payouts}

    @invariant()
    def students_are_never_owed_less_than_nothing(self) -> None:
        owed: dict[str, int] = {}
        for made in self.db.state.transactions.values():
            for leg in made.legs:
                if leg.account is Account.STUDENT_PAYABLE:
                    owed[leg.owner_id] = owed.get(leg.owner_id, 0) - leg.amount_minor
        assert all(amount >= 0 for amount in owed.values())


PayoutsMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPayoutsMachine = PayoutsMachine.TestCase


def test_a_lost_response_then_a_crash_still_makes_one_transfer() -> None:
    machine: Any = PayoutsMachine()
    snapshot = machine.new_engagement(10_000, "stu-a")
    machine.register_account("stu-a", "USD", TaxFormStatus.VERIFIED)
    machine.decide(snapshot, c.Outcome.APPROVED)
    machine.process(snapshot, "crash")
    machine.process(snapshot, "ok")  # the crashed caller's lease still holds: no second call
    assert machine.provider.calls == 1
    machine.time_passes()
    machine.process(snapshot, "lost")
    machine.retry_timer_fires(snapshot)
    machine.process(snapshot, "ok")
    payout = machine.db.state.payouts[payout_id_for(snapshot.engagement_id)]
    assert payout.status is S.PAID
    assert len(machine.provider.transfers) == 1
    machine.reconcile()


def test_a_payout_paid_while_reconciling_is_not_reported_missing() -> None:
    machine: Any = PayoutsMachine()
    snapshot = machine.new_engagement(10_000, "stu-a")
    machine.register_account("stu-a", "USD", TaxFormStatus.VERIFIED)
    machine.decide(snapshot, c.Outcome.APPROVED)
    provider = machine.provider
    listing = provider.list_transfers

    def listed_then_paid() -> Any:
        listed = list(listing())
        process_payout(machine.db.run, provider, payout_id_for(snapshot.engagement_id))
        return iter(listed)

    provider.list_transfers = listed_then_paid
    report = reconcile(machine.db.run, provider)
    assert machine.db.state.payouts[payout_id_for(snapshot.engagement_id)].status is S.PAID
    assert report.drifts == ()
    assert report.payouts_checked == 1
