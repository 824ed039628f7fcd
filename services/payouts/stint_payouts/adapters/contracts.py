"""Domain <-> `stint.payouts.v1` messages, and the applications events payouts consumes.

Payout destinations never appear in a message: accounts show only their last four characters.
"""

from __future__ import annotations

from google.protobuf.message import Message
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.payouts.v1 import events_pb2, resources_pb2
from stint_runtime.proto_values import money, money_from, timestamp

from stint_payouts.domain import commands as c
from stint_payouts.domain import escrow as escrow_events
from stint_payouts.domain import payout as payout_events
from stint_payouts.domain.account import PayoutAccount, PayoutMethod, TaxFormStatus
from stint_payouts.domain.escrow import EngagementSnapshot, Escrow
from stint_payouts.domain.ledger import Account
from stint_payouts.domain.payout import Payout, PayoutStatus
from stint_payouts.domain.reconciliation import DriftKind, ReconciliationReport
from stint_payouts.service_layer.handlers import Balance
from stint_payouts.service_layer.ports import LedgerEntry

STATUS = {s: resources_pb2.PayoutStatus.Value(f"PAYOUT_STATUS_{s.value}") for s in PayoutStatus}
STATUS_FROM_PROTO = {v: k for k, v in STATUS.items()}
METHOD_FROM_PROTO = {
    resources_pb2.PayoutMethod.Value(f"PAYOUT_METHOD_{m.value}"): m for m in PayoutMethod
}
METHOD = {v: k for k, v in METHOD_FROM_PROTO.items()}
TAX_FROM_PROTO = {
    resources_pb2.TaxFormStatus.Value(f"TAX_FORM_STATUS_{t.value}"): t for t in TaxFormStatus
}
TAX = {v: k for k, v in TAX_FROM_PROTO.items()}
ACCOUNT_FROM_PROTO = {
    resources_pb2.LedgerAccount.Value(f"LEDGER_ACCOUNT_{a.value}"): a for a in Account
}
ACCOUNT = {v: k for k, v in ACCOUNT_FROM_PROTO.items()}
DRIFT = {k: resources_pb2.DriftKind.Value(f"DRIFT_KIND_{k.value}") for k in DriftKind}


def payout_message(payout: Payout) -> resources_pb2.Payout:
    return resources_pb2.Payout(
        id=payout.id,
        engagement_id=payout.engagement_id,
        listing_id=payout.listing_id,
        employer_org_id=payout.employer_org_id,
        student_id=payout.student_id,
        amount=money(payout.amount),
        payout_percent=payout.payout_percent,
        status=STATUS[payout.status],
        attempts=payout.attempts,
        failure_reason=payout.failure_reason,
        provider_transfer_id=payout.provider_transfer_id,
        version=payout.version,
        create_time=timestamp(payout.create_time),
        update_time=timestamp(payout.update_time),
        next_attempt_time=timestamp(payout.next_attempt_time),
        paid_time=timestamp(payout.paid_time),
    )


def account_message(account: PayoutAccount) -> resources_pb2.PayoutAccount:
    return resources_pb2.PayoutAccount(
        student_id=account.student_id,
        method=METHOD[account.method],
        destination_last4=account.destination_last4,
        country=account.country,
        currency=account.currency,
        tax_form_status=TAX[account.tax_form_status],
        version=account.version,
        create_time=timestamp(account.create_time),
        update_time=timestamp(account.update_time),
    )


def entry_message(entry: LedgerEntry) -> resources_pb2.LedgerEntry:
    return resources_pb2.LedgerEntry(
        id=entry.id,
        transaction_id=entry.transaction_id,
        account=ACCOUNT[entry.leg.account],
        account_owner_id=entry.leg.owner_id,
        amount_minor=entry.leg.amount_minor,
        currency=entry.currency,
        engagement_id=entry.engagement_id,
        payout_id=entry.payout_id,
        description=entry.description,
        create_time=timestamp(entry.time),
    )


def balance_message(balance: Balance) -> resources_pb2.Balance:
    return resources_pb2.Balance(
        student_id=balance.student_id,
        pending=money(balance.pending),
        available=money(balance.available),
        paid=money(balance.paid),
    )


def report_message(report: ReconciliationReport) -> resources_pb2.ReconciliationReport:
    return resources_pb2.ReconciliationReport(
        id=report.id,
        run_time=timestamp(report.run_time),
        payouts_checked=report.payouts_checked,
        ledger_balanced=report.ledger_balanced,
        drifts=[
            resources_pb2.Drift(
                kind=DRIFT[d.kind],
                payout_id=d.payout_id,
                provider_transfer_id=d.provider_transfer_id,
                ledger_amount=money(d.ledger_amount) if d.ledger_amount else None,
                provider_amount=money(d.provider_amount) if d.provider_amount else None,
                detail=d.detail,
            )
            for d in report.drifts
        ],
    )


def payout_event(event: payout_events.PayoutEvent, payout: Payout) -> Message:
    message = payout_message(payout)
    if isinstance(event, payout_events.PayoutScheduled):
        return events_pb2.PayoutScheduled(payout_id=payout.id, payout=message)
    if isinstance(event, payout_events.PayoutHeld):
        return events_pb2.PayoutHeld(payout_id=payout.id, payout=message)
    if isinstance(event, payout_events.PayoutPaid):
        return events_pb2.PayoutPaid(payout_id=payout.id, payout=message)
    return events_pb2.PayoutFailed(payout_id=payout.id, payout=message, reason=event.reason)


def escrow_event(event: escrow_events.EscrowEvent, escrow: Escrow) -> Message:
    org = escrow.engagement.employer_org_id
    if isinstance(event, escrow_events.EscrowFunded):
        return events_pb2.EscrowFunded(
            engagement_id=escrow.id,
            employer_org_id=org,
            fee=money(escrow.engagement.fee),
            platform_fee=money(escrow.platform_fee),
            transaction_id=event.transaction.id,
        )
    return events_pb2.EscrowRefunded(
        engagement_id=escrow.id,
        employer_org_id=org,
        amount=money(event.amount),
        transaction_id=event.transaction.id,
        reason=event.reason,
    )


def snapshot_from(engagement: applications_resources.Engagement) -> EngagementSnapshot:
    return EngagementSnapshot(
        engagement_id=engagement.id,
        listing_id=engagement.listing_id,
        employer_org_id=engagement.employer_org_id,
        student_id=engagement.student_id,
        fee=money_from(engagement.fee),
    )


def record_engagement(event: Message) -> c.RecordEngagement:
    """The money-relevant applications events as one command each."""
    assert hasattr(event, "engagement")
    snapshot = snapshot_from(event.engagement)
    if isinstance(event, applications_events.EngagementStarted):
        return c.RecordEngagement(c.Outcome.STARTED, snapshot)
    if isinstance(event, applications_events.DeliverableApproved):
        reason = "auto-approved" if event.auto_approved else "approved"
        return c.RecordEngagement(c.Outcome.APPROVED, snapshot, reason=reason)
    if isinstance(event, applications_events.DisputeResolved):
        return c.RecordEngagement(c.Outcome.RESOLVED, snapshot, payout_percent=event.payout_percent)
    if isinstance(event, applications_events.EngagementCancelled):
        return c.RecordEngagement(c.Outcome.CANCELLED, snapshot, reason="engagement cancelled")
    if isinstance(event, applications_events.EngagementExpired):
        return c.RecordEngagement(c.Outcome.EXPIRED, snapshot, reason="engagement expired")
    raise TypeError(f"payouts does not consume {type(event).__name__}")


CONSUMED: tuple[type[Message], ...] = (
    applications_events.EngagementStarted,
    applications_events.DeliverableApproved,
    applications_events.DisputeResolved,
    applications_events.EngagementCancelled,
    applications_events.EngagementExpired,
)
