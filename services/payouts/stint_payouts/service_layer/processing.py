"""One provider attempt of a payout, in three steps so no transaction spans the provider call:

1. commit PROCESSING with the attempt number (or find the attempt a crash interrupted);
2. call the provider outside any transaction, with the attempt's idempotency key; from the
   second attempt on, first ask the provider whether an earlier attempt (whose response was
   lost) already made the transfer;
3. commit the outcome, only if the payout still waits for this very attempt.

A crash between 1 and 3 leaves PROCESSING with the same attempt number: the next pass repeats
the call with the same key and the provider answers with the transfer it already made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from stint_payouts import metrics
from stint_payouts.domain import commands as c
from stint_payouts.domain.payout import Payout, PayoutStatus
from stint_payouts.domain.reconciliation import ReconciliationReport
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.ports import Provider, ProviderError, TransferRequest

C = TypeVar("C")
R = TypeVar("R")
Run = Callable[[Callable[[Any, Any, Any], Any], Any], Any]


def process_payout(run: Run, provider: Provider, payout_id: str) -> Payout | None:
    """Make the payout's next provider attempt; the payout after it (None: nothing to do)."""
    attempt: handlers.Attempt | None = run(handlers.start_attempt, c.StartAttempt(payout_id))
    if attempt is None:
        return None
    try:
        transfer = provider.find_transfer(payout_id) if attempt.attempt > 1 else None
        if transfer is None:
            transfer = provider.create_transfer(
                TransferRequest(
                    amount=attempt.amount,
                    destination=attempt.destination,
                    idempotency_key=attempt.idempotency_key,
                    transfer_group=payout_id,
                    metadata={"payout_id": payout_id, "attempt": str(attempt.attempt)},
                )
            )
        outcome = c.RecordAttempt(payout_id, attempt.attempt, transfer_id=transfer.id)
    except ProviderError as exc:
        outcome = c.RecordAttempt(payout_id, attempt.attempt, failure=exc.reason)
    result: Payout | None = run(handlers.record_attempt, outcome)
    if result is not None and result.status is PayoutStatus.FAILED:
        metrics.payouts_failed.add(1)
    return result


def reconcile(run: Run, provider: Provider) -> ReconciliationReport:
    """Transfers are listed first, payouts read second: a payout exists before its transfer, so
    every transfer listed has its payout in the read. A payout PAID in between (its transfer
    made after the listing) is looked up again rather than reported missing."""
    transfers = list(provider.list_transfers())
    payouts: list[Payout] = run(handlers.all_payouts, None)
    listed = {t.payout_id for t in transfers}
    for payout in payouts:
        if payout.status is PayoutStatus.PAID and payout.id not in listed:
            found = provider.find_transfer(payout.id)
            if found is not None:
                transfers.append(found)
    report: ReconciliationReport = run(
        handlers.reconcile, c.Reconcile(tuple(payouts), tuple(transfers))
    )
    metrics.record_reconciliation(report)
    return report
