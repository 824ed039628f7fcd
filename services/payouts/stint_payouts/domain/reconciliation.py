"""Reconciliation: every payout compared with the provider's transfers; drift is reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stint_runtime.values import Money

from stint_payouts.domain.payout import Payout, PayoutStatus


class DriftKind(StrEnum):
    MISSING_AT_PROVIDER = "MISSING_AT_PROVIDER"
    MISSING_IN_LEDGER = "MISSING_IN_LEDGER"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"


@dataclass(frozen=True)
class ProviderTransfer:
    """A transfer as the provider reports it; `payout_id` is our transfer group."""

    id: str
    payout_id: str
    amount: Money
    reversed: bool = False


@dataclass(frozen=True)
class Drift:
    kind: DriftKind
    payout_id: str
    provider_transfer_id: str
    ledger_amount: Money | None
    provider_amount: Money | None
    detail: str


@dataclass(frozen=True)
class ReconciliationReport:
    id: str
    run_time: datetime
    payouts_checked: int
    drifts: tuple[Drift, ...]
    ledger_balanced: bool


# In flight: the provider may already hold the transfer the outcome of which is not yet known.
IN_FLIGHT = frozenset({PayoutStatus.PROCESSING, PayoutStatus.RETRYING})


def compare(
    payouts: Iterable[Payout], transfers: Iterable[ProviderTransfer]
) -> tuple[int, list[Drift]]:
    """How many payouts were checked, and every difference with the provider."""
    by_payout: dict[str, list[ProviderTransfer]] = {}
    for transfer in transfers:
        by_payout.setdefault(transfer.payout_id, []).append(transfer)
    drifts: list[Drift] = []
    checked = 0
    for payout in payouts:
        checked += 1
        found = by_payout.pop(payout.id, [])
        drifts.extend(_compare_one(payout, found))
    for payout_id, orphans in sorted(by_payout.items()):
        for transfer in orphans:
            drifts.append(
                Drift(
                    DriftKind.MISSING_IN_LEDGER,
                    payout_id,
                    transfer.id,
                    None,
                    transfer.amount,
                    "the provider holds a transfer no payout knows",
                )
            )
    return checked, drifts


def _compare_one(payout: Payout, found: list[ProviderTransfer]) -> list[Drift]:
    live = [t for t in found if not t.reversed]
    if payout.status is PayoutStatus.PAID:
        if not live:
            return [
                Drift(
                    DriftKind.MISSING_AT_PROVIDER,
                    payout.id,
                    payout.provider_transfer_id,
                    payout.amount,
                    None,
                    "paid in the ledger, no transfer at the provider",
                )
            ]
        drifts = []
        if len(live) > 1:
            drifts.append(
                Drift(
                    DriftKind.MISSING_IN_LEDGER,
                    payout.id,
                    ",".join(sorted(t.id for t in live)),
                    payout.amount,
                    None,
                    f"{len(live)} transfers for one payout",
                )
            )
        transfer = next((t for t in live if t.id == payout.provider_transfer_id), live[0])
        if transfer.amount != payout.amount:
            drifts.append(
                Drift(
                    DriftKind.AMOUNT_MISMATCH,
                    payout.id,
                    transfer.id,
                    payout.amount,
                    transfer.amount,
                    "the transfer's amount differs from the payout's",
                )
            )
        return drifts
    if live and payout.status not in IN_FLIGHT:
        return [
            Drift(
                DriftKind.STATUS_MISMATCH,
                payout.id,
                live[0].id,
                payout.amount,
                live[0].amount,
                f"the provider transferred a payout that is {payout.status}",
            )
        ]
    return []
