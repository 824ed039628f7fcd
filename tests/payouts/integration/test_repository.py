"""The MongoDB repositories on the real database: a movement is written once, timers live in the
payout's document, and a stale write loses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from stint_payouts.adapters.repository import LEDGER, PAYOUTS, MongoStore, ensure_indexes
from stint_payouts.domain import commands as c
from stint_payouts.domain.account import PayoutMethod, TaxFormStatus
from stint_payouts.domain.escrow import EngagementSnapshot, Escrow
from stint_payouts.domain.payout import Payout, PayoutStatus, RetryPolicy
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.handlers import Context
from stint_runtime.clock import ManualClock
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.values import Actor, Money

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def units(mongo: Client, unique_name: str) -> UnitOfWorkFactory:
    factory = UnitOfWorkFactory(mongo, unique_name, "payouts", ManualClock(NOW))
    ensure_indexes(factory.db)
    return factory


def snapshot() -> EngagementSnapshot:
    return EngagementSnapshot(
        f"eng-{uuid.uuid4().hex[:8]}", "lst", "org", "stu", Money(1_000, "USD")
    )


def test_a_funding_is_written_once(units: UnitOfWorkFactory) -> None:
    engagement = snapshot()
    units.run(lambda uow: MongoStore(uow).escrows.add(Escrow.fund(engagement, 1000, NOW)))
    assert units.db[LEDGER].count_documents({"engagement_id": engagement.engagement_id}) == 2
    with pytest.raises(AlreadyExists):
        units.run(
            lambda uow: MongoStore(uow).ledger.record(
                Escrow.fund(engagement, 1000, NOW).transactions[0]
            )
        )
    assert units.db[LEDGER].count_documents({"engagement_id": engagement.engagement_id}) == 2


def test_a_retrying_payout_keeps_its_timer_and_a_stale_save_loses(units: UnitOfWorkFactory) -> None:
    payout = Payout.create(
        engagement_id="eng-1",
        listing_id="lst",
        employer_org_id="org",
        student_id="stu",
        amount=Money(1_000, "USD"),
        payout_percent=100,
        now=NOW,
        hold_reason=None,
    )
    units.run(lambda uow: MongoStore(uow).payouts.add(payout))
    stale = units.run(lambda uow: MongoStore(uow).payouts.get(payout.id))
    assert stale is not None

    def fail_once(uow: UnitOfWork) -> None:
        store = MongoStore(uow)
        loaded = store.payouts.get(payout.id)
        assert loaded is not None
        loaded.start_attempt(NOW)
        loaded.fail("503", NOW, RetryPolicy(), jitter=1.0)
        store.payouts.save(loaded)

    units.run(fail_once)
    document = units.db[PAYOUTS].find_one({"_id": payout.id})
    assert document is not None
    assert document["status"] == PayoutStatus.RETRYING.value
    assert [t["name"] for t in document["timers"]] == ["retry"]
    stale.start_attempt(NOW)
    with pytest.raises(ConcurrencyConflict):
        units.run(lambda uow: MongoStore(uow).payouts.save(stale))


def test_an_account_registered_during_an_approval_conflicts_instead_of_missing_it(
    units: UnitOfWorkFactory,
) -> None:
    context = Context(units.clock)
    engagement = snapshot()
    student = Actor(engagement.student_id, "student")
    register = c.RegisterPayoutAccount(
        student, PayoutMethod.BANK_ACCOUNT, "acct_0000001234", "US", "USD", TaxFormStatus.VERIFIED
    )
    approved = c.RecordEngagement(c.Outcome.APPROVED, engagement)
    with units() as approval:
        handlers.record_engagement(approved, MongoStore(approval), context)  # sees no account
        with pytest.raises(ConcurrencyConflict):
            units.run(lambda uow: handlers.register_account(register, MongoStore(uow), context))
        approval.commit()
    units.run(lambda uow: handlers.register_account(register, MongoStore(uow), context))
    payout = units.db[PAYOUTS].find_one({"engagement_id": engagement.engagement_id})
    assert payout is not None
    assert payout["status"] == PayoutStatus.PENDING.value
