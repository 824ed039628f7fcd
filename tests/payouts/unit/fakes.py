"""In-memory store and provider with the real ones' guarantees (unit tests only).

`FakeDatabase.run` gives each use case a copy of the state and keeps it only when the use case
returns: an exception (a crash) leaves nothing behind, like an aborted transaction.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from stint_payouts.domain.account import PayoutAccount
from stint_payouts.domain.escrow import Escrow
from stint_payouts.domain.ledger import Transaction
from stint_payouts.domain.payout import Payout
from stint_payouts.domain.queries import LedgerFilter, Page, PayoutFilter
from stint_payouts.domain.reconciliation import ProviderTransfer, ReconciliationReport
from stint_payouts.service_layer.handlers import Context
from stint_payouts.service_layer.ports import (
    LedgerEntry,
    ProviderError,
    TransferRequest,
    entries_of,
)
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict

R = TypeVar("R")


@dataclass
class State:
    escrows: dict[str, Escrow] = field(default_factory=dict)
    payouts: dict[str, Payout] = field(default_factory=dict)
    accounts: dict[str, PayoutAccount] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    reports: list[ReconciliationReport] = field(default_factory=list)
    # (aggregate id, event) in publication order.
    events: list[tuple[str, object]] = field(default_factory=list)


def _page(items: list[Any], page_size: int, page_token: str) -> Page[Any]:
    start = int(page_token or 0)
    more = start + page_size < len(items)
    return Page(items[start : start + page_size], str(start + page_size) if more else "")


class _Versioned:
    def __init__(self, state: State, stored: dict[str, Any]) -> None:
        self.state = state
        self.stored = stored

    def get(self, key: str) -> Any:
        found = self.stored.get(key)
        return copy.deepcopy(found)

    def _write(self, aggregate: Any, key: str, new: bool) -> None:
        if new and key in self.stored:
            raise AlreadyExists(f"{key} already exists")
        if not new and self.stored[key].version != aggregate.version:
            raise ConcurrencyConflict(f"{key} changed")
        aggregate.version += 1
        for made in aggregate.transactions:
            if made.id in self.state.transactions:
                raise AlreadyExists(f"transaction {made.id} already recorded")
            self.state.transactions[made.id] = made
        aggregate.transactions = []
        self.state.events.extend((key, event) for event in aggregate.events)
        aggregate.events = []
        self.stored[key] = copy.deepcopy(aggregate)


class FakeEscrows(_Versioned):
    def add(self, escrow: Escrow) -> None:
        self._write(escrow, escrow.id, new=True)

    def save(self, escrow: Escrow) -> None:
        self._write(escrow, escrow.id, new=False)


class FakePayouts(_Versioned):
    def add(self, payout: Payout) -> None:
        self._write(payout, payout.id, new=True)

    def save(self, payout: Payout) -> None:
        self._write(payout, payout.id, new=False)

    def of_student(self, student_id: str) -> list[Payout]:
        return [copy.deepcopy(p) for p in self.stored.values() if p.student_id == student_id]

    def due_for_attempt(self, now: datetime, limit: int) -> list[str]:
        return [
            p.id
            for p in self.stored.values()
            if p.status == "PENDING"
            or (p.status == "PROCESSING" and (p.lease_until is None or p.lease_until <= now))
        ][:limit]

    def all(self) -> Iterator[Payout]:
        return iter(copy.deepcopy(list(self.stored.values())))

    def list(self, query: PayoutFilter, page_size: int, page_token: str) -> Page[Payout]:
        items = [
            copy.deepcopy(p)
            for p in self.stored.values()
            if (not query.student_id or p.student_id == query.student_id)
            and (not query.employer_org_id or p.employer_org_id == query.employer_org_id)
            and (not query.engagement_id or p.engagement_id == query.engagement_id)
            and (not query.statuses or p.status in query.statuses)
        ]
        return _page(items, page_size, page_token)


class FakeAccounts:
    def __init__(self, state: State) -> None:
        self.state = state

    def get(self, student_id: str) -> PayoutAccount | None:
        return copy.deepcopy(self.state.accounts.get(student_id))

    def put(self, account: PayoutAccount) -> None:
        stored = self.state.accounts.get(account.student_id)
        if (stored.version if stored else 0) != account.version:
            raise ConcurrencyConflict(f"account {account.student_id} changed")
        account.version += 1
        self.state.accounts[account.student_id] = copy.deepcopy(account)

    def serialize(self, student_id: str) -> None:
        """Units of work on the fake database never overlap."""


class FakeLedger:
    def __init__(self, state: State) -> None:
        self.state = state

    def record(self, transaction: Transaction) -> None:
        if transaction.id in self.state.transactions:
            raise AlreadyExists(f"transaction {transaction.id} already recorded")
        self.state.transactions[transaction.id] = transaction

    def all_entries(self) -> list[LedgerEntry]:
        return [e for t in self.state.transactions.values() for e in entries_of(t)]

    def legs_of(self, owner_id: str) -> list[LedgerEntry]:
        return [e for e in self.all_entries() if e.leg.owner_id == owner_id]

    def entries(self, query: LedgerFilter, page_size: int, page_token: str) -> Page[LedgerEntry]:
        items = [
            e
            for e in self.all_entries()
            if (not query.engagement_id or e.engagement_id == query.engagement_id)
            and (not query.payout_id or e.payout_id == query.payout_id)
            and (query.account is None or e.leg.account == query.account)
            and (not query.account_owner_id or e.leg.owner_id == query.account_owner_id)
            and (not query.employer_org_id or e.employer_org_id == query.employer_org_id)
        ]
        return _page(items, page_size, page_token)

    def unbalanced_transactions(self) -> list[str]:
        return [
            t.id
            for t in self.state.transactions.values()
            if sum(leg.amount_minor for leg in t.legs)
        ]


class FakeReports:
    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, report: ReconciliationReport) -> None:
        self.state.reports.append(report)


class FakeStore:
    def __init__(self, state: State) -> None:
        self.escrows = FakeEscrows(state, state.escrows)
        self.payouts = FakePayouts(state, state.payouts)
        self.accounts = FakeAccounts(state)
        self.ledger = FakeLedger(state)
        self.reports = FakeReports(state)


class FakeDatabase:
    def __init__(self, context: Context) -> None:
        self.state = State()
        self.context = context

    def run(self, handler: Callable[[Any, Any, Context], R], message: Any) -> R:
        working = copy.deepcopy(self.state)
        result = handler(message, FakeStore(working), self.context)
        self.state = working
        return result


class ProviderCrashError(Exception):
    """The test's stand-in for the caller dying while the call is in flight."""


@dataclass
class FakeProvider:
    """Stripe-like: one transfer per idempotency key; scripted failures and lost responses."""

    transfers: dict[str, ProviderTransfer] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    # What the next calls do: "ok", "fail", "decline", "lost" (made, response lost), "crash".
    script: list[str] = field(default_factory=list)
    calls: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def create_transfer(self, request: TransferRequest) -> ProviderTransfer:
        self.calls += 1
        mode = self.script.pop(0) if self.script else "ok"
        if mode == "fail":
            raise ProviderError("provider unavailable (503)")
        if mode == "decline":
            raise ProviderError("transfer declined: insufficient_funds", retryable=False)
        if request.idempotency_key in self.by_key:
            transfer = self.transfers[self.by_key[request.idempotency_key]]
        else:
            transfer = ProviderTransfer(
                f"tr_{next(self._ids)}", request.transfer_group, request.amount
            )
            self.transfers[transfer.id] = transfer
            self.by_key[request.idempotency_key] = transfer.id
        if mode == "lost":
            raise ProviderError("no response from the provider (timeout)")
        if mode == "crash":
            raise ProviderCrashError
        return transfer

    def find_transfer(self, transfer_group: str) -> ProviderTransfer | None:
        return next((t for t in self.transfers.values() if t.payout_id == transfer_group), None)

    def list_transfers(self) -> Iterator[ProviderTransfer]:
        return iter(list(self.transfers.values()))

    def transfers_of(self, payout_id: str) -> list[ProviderTransfer]:
        return [t for t in self.transfers.values() if t.payout_id == payout_id]
