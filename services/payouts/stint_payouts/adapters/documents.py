"""How the aggregates are stored: each <-> its MongoDB document (timers inside it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.timers import TIMERS, set_timer
from stint_runtime.values import Money

from stint_payouts.domain.account import PayoutAccount, PayoutMethod, TaxFormStatus
from stint_payouts.domain.escrow import EngagementSnapshot, Escrow, EscrowStatus
from stint_payouts.domain.ledger import Account, Leg
from stint_payouts.domain.payout import Payout, PayoutStatus
from stint_payouts.domain.reconciliation import Drift, DriftKind, ReconciliationReport
from stint_payouts.service_layer.ports import LedgerEntry


def utc(moment: Any) -> Any:
    """MongoDB gives naive UTC datetimes back."""
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def money_document(value: Money) -> Document:
    return {"amount_minor": value.amount_minor, "currency": value.currency}


def money_from(document: Document) -> Money:
    return Money(int(document["amount_minor"]), str(document["currency"]))


def escrow_document(escrow: Escrow) -> Document:
    engagement = escrow.engagement
    return {
        "_id": escrow.id,
        "listing_id": engagement.listing_id,
        "employer_org_id": engagement.employer_org_id,
        "student_id": engagement.student_id,
        "fee": money_document(engagement.fee),
        "platform_fee": money_document(escrow.platform_fee),
        "status": escrow.status.value,
        "funded_time": escrow.funded_time,
        "payout_percent": escrow.payout_percent,
        "outcome_reason": escrow.outcome_reason,
        "version": escrow.version,
    }


def escrow_from(document: Document) -> Escrow:
    return Escrow(
        engagement=EngagementSnapshot(
            document["_id"],
            document["listing_id"],
            document["employer_org_id"],
            document["student_id"],
            money_from(document["fee"]),
        ),
        platform_fee=money_from(document["platform_fee"]),
        status=EscrowStatus(document["status"]),
        funded_time=utc(document["funded_time"]),
        payout_percent=document.get("payout_percent"),
        outcome_reason=document.get("outcome_reason", ""),
        version=document["version"],
    )


def payout_document(payout: Payout) -> Document:
    document: Document = {
        "_id": payout.id,
        "engagement_id": payout.engagement_id,
        "listing_id": payout.listing_id,
        "employer_org_id": payout.employer_org_id,
        "student_id": payout.student_id,
        "amount": money_document(payout.amount),
        "payout_percent": payout.payout_percent,
        "status": payout.status.value,
        "attempts": payout.attempts,
        "budget_used": payout.budget_used,
        "failure_reason": payout.failure_reason,
        "provider_transfer_id": payout.provider_transfer_id,
        "next_attempt_time": payout.next_attempt_time,
        "paid_time": payout.paid_time,
        "lease_until": payout.lease_until,
        "create_time": payout.create_time,
        "update_time": payout.update_time,
        "version": payout.version,
        TIMERS: [],
    }
    for name, due_at in payout.wanted_timers().items():
        set_timer(document, name, due_at)
    return document


def payout_from(document: Document) -> Payout:
    return Payout(
        id=document["_id"],
        engagement_id=document["engagement_id"],
        listing_id=document["listing_id"],
        employer_org_id=document["employer_org_id"],
        student_id=document["student_id"],
        amount=money_from(document["amount"]),
        payout_percent=document["payout_percent"],
        status=PayoutStatus(document["status"]),
        attempts=document["attempts"],
        budget_used=document["budget_used"],
        failure_reason=document["failure_reason"],
        provider_transfer_id=document["provider_transfer_id"],
        next_attempt_time=utc(document.get("next_attempt_time")),
        paid_time=utc(document.get("paid_time")),
        lease_until=utc(document.get("lease_until")),
        create_time=utc(document["create_time"]),
        update_time=utc(document["update_time"]),
        version=document["version"],
    )


def account_document(account: PayoutAccount) -> Document:
    return {
        "_id": account.student_id,
        "method": account.method.value,
        "destination": account.destination,
        "country": account.country,
        "currency": account.currency,
        "tax_form_status": account.tax_form_status.value,
        "create_time": account.create_time,
        "update_time": account.update_time,
        "version": account.version,
    }


def account_from(document: Document) -> PayoutAccount:
    return PayoutAccount(
        student_id=document["_id"],
        method=PayoutMethod(document["method"]),
        destination=document["destination"],
        country=document["country"],
        currency=document["currency"],
        tax_form_status=TaxFormStatus(document["tax_form_status"]),
        create_time=utc(document["create_time"]),
        update_time=utc(document["update_time"]),
        version=document["version"],
    )


def entry_document(entry: LedgerEntry) -> Document:
    return {
        "_id": entry.id,
        "transaction_id": entry.transaction_id,
        "account": entry.leg.account.value,
        "account_owner_id": entry.leg.owner_id,
        "amount_minor": entry.leg.amount_minor,
        "currency": entry.currency,
        "engagement_id": entry.engagement_id,
        "employer_org_id": entry.employer_org_id,
        "payout_id": entry.payout_id,
        "description": entry.description,
        "create_time": entry.time,
    }


def entry_from(document: Document) -> LedgerEntry:
    return LedgerEntry(
        id=document["_id"],
        transaction_id=document["transaction_id"],
        leg=Leg(
            Account(document["account"]), document["account_owner_id"], document["amount_minor"]
        ),
        currency=document["currency"],
        engagement_id=document["engagement_id"],
        employer_org_id=document["employer_org_id"],
        payout_id=document["payout_id"],
        description=document["description"],
        time=utc(document["create_time"]),
    )


def report_document(report: ReconciliationReport) -> Document:
    return {
        "_id": report.id,
        "run_time": report.run_time,
        "payouts_checked": report.payouts_checked,
        "ledger_balanced": report.ledger_balanced,
        "drifts": [
            {
                "kind": d.kind.value,
                "payout_id": d.payout_id,
                "provider_transfer_id": d.provider_transfer_id,
                "ledger_amount": money_document(d.ledger_amount) if d.ledger_amount else None,
                "provider_amount": money_document(d.provider_amount) if d.provider_amount else None,
                "detail": d.detail,
            }
            for d in report.drifts
        ],
    }


def report_from(document: Document) -> ReconciliationReport:
    return ReconciliationReport(
        id=document["_id"],
        run_time=utc(document["run_time"]),
        payouts_checked=document["payouts_checked"],
        ledger_balanced=document["ledger_balanced"],
        drifts=tuple(
            Drift(
                DriftKind(d["kind"]),
                d["payout_id"],
                d["provider_transfer_id"],
                money_from(d["ledger_amount"]) if d["ledger_amount"] else None,
                money_from(d["provider_amount"]) if d["provider_amount"] else None,
                d["detail"],
            )
            for d in document["drifts"]
        ),
    )
