"""One plain function per RPC, consumed event, timer and processing step: load, authorize, call
the domain, save. Saving stages the aggregate's ledger transactions and events in the same unit
of work, so money, state and events commit together.

Visibility: a student sees its own account, payouts and balance; an employer the payouts and
ledger entries of its organisation's engagements; admins everything. A payout the caller may
not see is NOT_FOUND; a filter naming someone else is PERMISSION_DENIED.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stint_runtime.clock import Clock
from stint_runtime.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from stint_runtime.persistence.pages import page_size
from stint_runtime.values import Actor, Money, at_millis

from stint_payouts.domain import commands as c
from stint_payouts.domain.account import (
    DEFAULT_PAYABLE_TAX_STATUSES,
    PayoutAccount,
    TaxFormStatus,
)
from stint_payouts.domain.escrow import Escrow
from stint_payouts.domain.ledger import Account
from stint_payouts.domain.payout import Payout, PayoutStatus, RetryPolicy
from stint_payouts.domain.queries import LedgerFilter, Page, PayoutFilter
from stint_payouts.domain.reconciliation import (
    IN_FLIGHT,
    ReconciliationReport,
    compare,
)
from stint_payouts.service_layer.ports import LedgerEntry, Store

log = logging.getLogger("stint.payouts")

S = PayoutStatus
PLATFORM_FEE_BASIS_POINTS = 1000


@dataclass(frozen=True)
class Rules:
    platform_fee_basis_points: int = PLATFORM_FEE_BASIS_POINTS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    payable_tax_statuses: frozenset[TaxFormStatus] = DEFAULT_PAYABLE_TAX_STATUSES
    # How long one process may hold an attempt's provider call (more than the call's timeout).
    attempt_lease: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Context:
    clock: Clock
    rules: Rules = field(default_factory=Rules)
    jitter: Callable[[], float] = random.random
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex
    default_page_size: int = 20

    def now(self) -> datetime:
        return at_millis(self.clock.now())


# ---- consumed applications events ----------------------------------------------------------


def record_engagement(command: c.RecordEngagement, store: Store, context: Context) -> None:
    """Fund escrow on the first event seen for the engagement, then apply its outcome once."""
    now = context.now()
    snapshot = command.engagement
    _check_engagement(command)
    escrow = store.escrows.get(snapshot.engagement_id)
    if escrow is None:
        escrow = Escrow.fund(snapshot, context.rules.platform_fee_basis_points, now)
        store.escrows.add(escrow)
    if command.outcome is c.Outcome.STARTED or not escrow.open:
        return
    if command.outcome in (c.Outcome.CANCELLED, c.Outcome.EXPIRED):
        escrow.refund(now, command.reason or command.outcome.lower())
        store.escrows.save(escrow)
        return
    percent = 100 if command.outcome is c.Outcome.APPROVED else command.payout_percent
    reason = command.reason or (
        "approved" if command.outcome is c.Outcome.APPROVED else "dispute resolved"
    )
    student_share = escrow.settle(percent, now, reason)
    store.escrows.save(escrow)
    if student_share > 0:
        amount = Money(student_share, escrow.currency)
        store.accounts.serialize(snapshot.student_id)
        store.payouts.add(
            Payout.create(
                engagement_id=snapshot.engagement_id,
                listing_id=snapshot.listing_id,
                employer_org_id=snapshot.employer_org_id,
                student_id=snapshot.student_id,
                amount=amount,
                payout_percent=percent,
                now=now,
                hold_reason=_hold_reason(store.accounts.get(snapshot.student_id), amount, context),
            )
        )


def _check_engagement(command: c.RecordEngagement) -> None:
    """An event payouts cannot apply is refused (deterministically) with the field named."""
    snapshot = command.engagement
    for name in ("engagement_id", "employer_org_id", "student_id"):
        if not getattr(snapshot, name):
            raise InvalidArgument(f"engagement.{name}", "is required")
    if snapshot.fee.amount_minor <= 0:
        raise InvalidArgument("engagement.fee.amount_minor", "must be positive")
    currency = snapshot.fee.currency
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidArgument("engagement.fee.currency", "must be an ISO 4217 code")
    if not 0 <= command.payout_percent <= 100:
        raise InvalidArgument("payout_percent", "must be within 0..100")


def _hold_reason(account: PayoutAccount | None, amount: Money, context: Context) -> str | None:
    if account is None:
        return "the student has no payout account"
    if account.currency != amount.currency:
        return f"the payout account is in {account.currency}, the payout in {amount.currency}"
    if account.tax_form_status not in context.rules.payable_tax_statuses:
        return f"the tax form is {account.tax_form_status}"
    return None


# ---- accounts ------------------------------------------------------------------------------


def register_account(
    command: c.RegisterPayoutAccount, store: Store, context: Context
) -> PayoutAccount:
    """Register or replace the caller's account; every held payout it can receive is released."""
    if not command.actor.is_student:
        raise PermissionDenied("only a student registers its payout account")
    now = context.now()
    store.accounts.serialize(command.actor.subject)
    existing = store.accounts.get(command.actor.subject)
    account = PayoutAccount(
        student_id=command.actor.subject,
        method=command.method,
        destination=command.destination,
        country=command.country,
        currency=command.currency,
        tax_form_status=command.tax_form_status,
        create_time=existing.create_time if existing else now,
        update_time=now,
        version=existing.version if existing else 0,
    )
    store.accounts.put(account)
    for payout in store.payouts.of_student(account.student_id):
        if payout.status is S.HELD and _hold_reason(account, payout.amount, context) is None:
            payout.release(now)
            store.payouts.save(payout)
    return account


# ---- queries -------------------------------------------------------------------------------


def may_see(actor: Actor, payout: Payout) -> bool:
    return (
        actor.is_admin
        or actor.is_student_of(payout.student_id)
        or actor.owns(payout.employer_org_id)
    )


def get_payout(query: c.GetPayout, store: Store, context: Context) -> Payout:
    payout = store.payouts.get(query.payout_id)
    if payout is None or not may_see(query.actor, payout):
        raise NotFound(f"payout {query.payout_id} not found")
    return payout


def list_payouts(query: c.ListPayouts, store: Store, context: Context) -> Page[Payout]:
    actor = query.actor
    student_id, org_id = query.student_id, query.employer_org_id
    if actor.is_student:
        if student_id not in ("", actor.subject) or org_id:
            raise PermissionDenied("a student lists only its own payouts")
        student_id = actor.subject
    elif actor.role == "employer":
        if org_id not in ("", actor.org) or not actor.org:
            raise PermissionDenied("an employer lists only its organisation's payouts")
        org_id = actor.org
    elif not actor.is_admin:
        raise PermissionDenied("not allowed to list payouts")
    size = page_size(query.page_size, context.default_page_size)
    return store.payouts.list(
        PayoutFilter(student_id, org_id, query.engagement_id, query.statuses),
        size,
        query.page_token,
    )


@dataclass(frozen=True)
class Balance:
    """A student's money in one currency, derived from the ledger and its payouts' states."""

    student_id: str
    pending: Money
    available: Money
    paid: Money


def get_balance(query: c.GetBalance, store: Store, context: Context) -> list[Balance]:
    if not (query.actor.is_admin or query.actor.is_student_of(query.student_id)):
        raise PermissionDenied("a student sees only its own balance")
    owed: dict[str, int] = {}
    paid: dict[str, int] = {}
    for entry in store.ledger.legs_of(query.student_id):
        if entry.leg.account is not Account.STUDENT_PAYABLE:
            continue
        currency = entry.currency
        owed[currency] = owed.get(currency, 0) - entry.leg.amount_minor
        if entry.leg.amount_minor > 0:
            paid[currency] = paid.get(currency, 0) + entry.leg.amount_minor
    in_flight: dict[str, int] = {}
    for payout in store.payouts.of_student(query.student_id):
        if payout.status in IN_FLIGHT:
            currency = payout.amount.currency
            in_flight[currency] = in_flight.get(currency, 0) + payout.amount.amount_minor
    return [
        Balance(
            query.student_id,
            Money(owed[currency] - in_flight.get(currency, 0), currency),
            Money(in_flight.get(currency, 0), currency),
            Money(paid.get(currency, 0), currency),
        )
        for currency in sorted(owed.keys() | paid.keys())
    ]


def get_ledger(query: c.GetLedger, store: Store, context: Context) -> Page[LedgerEntry]:
    actor = query.actor
    org_id = query.employer_org_id
    if actor.role == "employer":
        if org_id not in ("", actor.org) or not actor.org:
            raise PermissionDenied("an employer sees only its organisation's ledger entries")
        org_id = actor.org or ""
    elif not actor.is_admin:
        raise PermissionDenied("not allowed to read the ledger")
    size = page_size(query.page_size, context.default_page_size)
    return store.ledger.entries(
        LedgerFilter(
            query.engagement_id, query.payout_id, query.account, query.account_owner_id, org_id
        ),
        size,
        query.page_token,
    )


# ---- the payout's provider attempts --------------------------------------------------------


def retry_payout(command: c.RetryPayout, store: Store, context: Context) -> Payout:
    if not command.actor.is_admin:
        raise PermissionDenied("only an admin retries a payout")
    payout = store.payouts.get(command.payout_id)
    if payout is None:
        raise NotFound(f"payout {command.payout_id} not found")
    if command.expected_version and command.expected_version != payout.version:
        raise FailedPrecondition(
            f"payout {payout.id} is at version {payout.version}, not {command.expected_version}"
        )
    payout.retry(context.now())
    store.payouts.save(payout)
    return payout


def fire_retry(command: c.FireRetry, store: Store, context: Context) -> None:
    """The backoff elapsed: RETRYING -> PROCESSING (the processor makes the call)."""
    payout = store.payouts.get(command.payout_id)
    if payout is None or payout.status is not S.RETRYING:
        return
    payout.start_attempt(context.now())
    store.payouts.save(payout)


@dataclass(frozen=True)
class Attempt:
    """A provider call to make, outside any transaction."""

    payout_id: str
    attempt: int
    idempotency_key: str
    amount: Money
    destination: str = field(repr=False)


def start_attempt(command: c.StartAttempt, store: Store, context: Context) -> Attempt | None:
    """PENDING -> PROCESSING, or resume a PROCESSING attempt no live process holds: either way
    the attempt is leased to the caller and committed before the call."""
    payout = store.payouts.get(command.payout_id)
    if payout is None or payout.status not in (S.PENDING, S.PROCESSING):
        return None
    account = store.accounts.get(payout.student_id)
    hold = _hold_reason(account, payout.amount, context)
    now = context.now()
    if payout.status is S.PENDING:
        if hold is not None:
            store.accounts.serialize(payout.student_id)
            payout.hold(hold, now)
            store.payouts.save(payout)
            return None
        payout.start_attempt(now)
    if not payout.claim(now, context.rules.attempt_lease):
        return None
    store.payouts.save(payout)
    if account is None:
        # PROCESSING without an account cannot happen: accounts are replaced, never removed.
        raise FailedPrecondition(f"payout {payout.id} is processing without a payout account")
    return Attempt(
        payout.id, payout.attempts, payout.idempotency_key, payout.amount, account.destination
    )


def record_attempt(command: c.RecordAttempt, store: Store, context: Context) -> Payout | None:
    """The call's outcome, if the payout still waits for exactly this attempt."""
    payout = store.payouts.get(command.payout_id)
    if payout is None or payout.status is not S.PROCESSING or payout.attempts != command.attempt:
        return None
    now = context.now()
    if command.transfer_id:
        payout.succeed(command.transfer_id, now)
    else:
        payout.fail(command.failure, now, context.rules.retry, context.jitter())
    store.payouts.save(payout)
    return payout


# ---- reconciliation ------------------------------------------------------------------------


def all_payouts(query: None, store: Store, context: Context) -> list[Payout]:
    return list(store.payouts.all())


def reconcile(command: c.Reconcile, store: Store, context: Context) -> ReconciliationReport:
    """Compare the payouts with the provider's transfers; persist and return the report."""
    checked, drifts = compare(command.payouts, command.transfers)
    report = ReconciliationReport(
        id=context.new_id(),
        run_time=context.now(),
        payouts_checked=checked,
        drifts=tuple(drifts),
        ledger_balanced=not store.ledger.unbalanced_transactions(),
    )
    store.reports.add(report)
    if drifts or not report.ledger_balanced:
        log.warning(
            "reconciliation found drift",
            extra={"drifts": len(drifts), "ledger_balanced": report.ledger_balanced},
        )
    return report
