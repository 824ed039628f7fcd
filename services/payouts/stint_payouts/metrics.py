"""Payouts' own series for the on-call alerts: payouts given up (FAILED) and reconciliation drift.

Recorded after the unit of work commits, so a retried transaction never counts twice.
"""

from __future__ import annotations

from opentelemetry import metrics

from stint_payouts.domain.reconciliation import ReconciliationReport

meter = metrics.get_meter("stint.payouts")

payouts_failed = meter.create_counter(
    "stint_payouts_failed", description="Payouts that reached FAILED after their retry budget"
)
reconciliation_drifts = meter.create_gauge(
    "stint_payouts_reconciliation_drifts",
    description="Drifts the last reconciliation found (an unbalanced ledger counts as one)",
)


def record_reconciliation(report: ReconciliationReport) -> None:
    reconciliation_drifts.set(len(report.drifts) + (0 if report.ledger_balanced else 1))
