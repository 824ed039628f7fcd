"""The MongoDB repositories of one unit of work: an aggregate's state, its ledger transactions
and its `payouts.v1` events commit together, since saving stages all three in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError
from stint_runtime.clock import Clock
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict
from stint_runtime.messaging.envelope import current_trace_carrier
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.pages import fetch_page, order
from stint_runtime.persistence.timers import TIMERS, ensure_timer_index, set_timer
from stint_runtime.persistence.unit_of_work import UnitOfWork

from stint_payouts.adapters import contracts
from stint_payouts.adapters.documents import (
    account_document,
    account_from,
    entry_document,
    entry_from,
    escrow_document,
    escrow_from,
    payout_document,
    payout_from,
    report_document,
)
from stint_payouts.domain.account import PayoutAccount
from stint_payouts.domain.escrow import Escrow
from stint_payouts.domain.ledger import Transaction
from stint_payouts.domain.payout import Payout, PayoutStatus
from stint_payouts.domain.queries import LedgerFilter, Page, PayoutFilter
from stint_payouts.domain.reconciliation import ReconciliationReport
from stint_payouts.service_layer.ports import LedgerEntry, entries_of

ESCROWS = "escrows"
PAYOUTS = "payouts"
TRACE = "trace"  # W3C trace context carrier of a payout
ACCOUNTS = "payout_accounts"
LEDGER = "ledger_entries"
REPORTS = "reconciliation_reports"
SCHEDULES = "schedules"
STUDENT_LOCKS = "student_locks"
RECONCILIATION = "reconciliation"
RECONCILE_TIMER = "reconcile"

T = TypeVar("T")


def ensure_indexes(db: Database[Document]) -> None:
    payouts = db[PAYOUTS]
    payouts.create_index("engagement_id", unique=True, name="one_per_engagement")
    payouts.create_index([("status", ASCENDING), ("update_time", ASCENDING)], name="status")
    payouts.create_index([("student_id", ASCENDING), *order("create_time")], name="student")
    payouts.create_index([("employer_org_id", ASCENDING), *order("create_time")], name="org")
    payouts.create_index(order("create_time"), name="order")
    ensure_timer_index(payouts)
    ledger = db[LEDGER]
    ledger.create_index("transaction_id", name="transaction")
    ledger.create_index("account_owner_id", name="owner")
    ledger.create_index("engagement_id", name="engagement")
    ledger.create_index([("employer_org_id", ASCENDING), *order("create_time")], name="org")
    ensure_timer_index(db[SCHEDULES])


def ensure_reconciliation_scheduled(db: Database[Document], clock: Clock, every: timedelta) -> None:
    """The periodic reconciliation timer exists once (the first start schedules it)."""
    document: Document = {TIMERS: [], "requested": False}
    set_timer(document, RECONCILE_TIMER, clock.now() + every)
    db[SCHEDULES].update_one({"_id": RECONCILIATION}, {"$setOnInsert": document}, upsert=True)


def _page(
    uow: UnitOfWork,
    collection: str,
    condition: Document,
    page_size: int,
    page_token: str,
    load: Callable[[Document], T],
) -> Page[T]:
    items, next_token = fetch_page(
        uow.db[collection],
        condition,
        "create_time",
        page_size,
        page_token,
        session=uow.session,
        load=load,
    )
    return Page(items=items, next_page_token=next_token)


class MongoLedger:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def record(self, transaction: Transaction) -> None:
        documents = [entry_document(e) for e in entries_of(transaction)]
        try:
            self.uow.db[LEDGER].insert_many(documents, session=self.uow.session)
        except (BulkWriteError, DuplicateKeyError):
            raise AlreadyExists(f"transaction {transaction.id} already recorded") from None

    def legs_of(self, owner_id: str) -> list[LedgerEntry]:
        documents = self.uow.db[LEDGER].find(
            {"account_owner_id": owner_id}, session=self.uow.session
        )
        return [entry_from(d) for d in documents]

    def entries(self, query: LedgerFilter, page_size: int, page_token: str) -> Page[LedgerEntry]:
        clauses: list[Document] = []
        for name in ("engagement_id", "payout_id", "account_owner_id", "employer_org_id"):
            if value := getattr(query, name):
                clauses.append({name: value})
        if query.account is not None:
            clauses.append({"account": query.account.value})
        condition = {"$and": clauses} if clauses else {}
        return _page(self.uow, LEDGER, condition, page_size, page_token, entry_from)

    def unbalanced_transactions(self) -> list[str]:
        sums: dict[str, int] = {}
        for document in self.uow.db[LEDGER].find(
            {}, projection={"transaction_id": 1, "amount_minor": 1}, session=self.uow.session
        ):
            key = document["transaction_id"]
            sums[key] = sums.get(key, 0) + document["amount_minor"]
        return sorted(key for key, total in sums.items() if total != 0)


class MongoEscrows:
    def __init__(self, uow: UnitOfWork, ledger: MongoLedger) -> None:
        self.uow = uow
        self.ledger = ledger

    def get(self, engagement_id: str) -> Escrow | None:
        document = self.uow.find_one(ESCROWS, {"_id": engagement_id})
        return None if document is None else escrow_from(document)

    def add(self, escrow: Escrow) -> None:
        self.uow.insert(ESCROWS, {**escrow_document(escrow), "version": 1})
        escrow.version = 1
        self._publish(escrow)

    def save(self, escrow: Escrow) -> None:
        escrow.version = self.uow.replace_if_version(
            ESCROWS, escrow_document(escrow), escrow.version
        )
        self._publish(escrow)

    def _publish(self, escrow: Escrow) -> None:
        for made in escrow.transactions:
            self.ledger.record(made)
        escrow.transactions.clear()
        for event in escrow.events:
            message = contracts.escrow_event(event, escrow)
            self.uow.emit(message, subject=escrow.id, sequence=escrow.version)
        escrow.events.clear()


class MongoPayouts:
    def __init__(self, uow: UnitOfWork, ledger: MongoLedger) -> None:
        self.uow = uow
        self.ledger = ledger

    def get(self, payout_id: str) -> Payout | None:
        document = self.uow.find_one(PAYOUTS, {"_id": payout_id})
        return None if document is None else payout_from(document)

    def add(self, payout: Payout) -> None:
        self.uow.insert(PAYOUTS, {**self._traced(payout), "version": 1})
        payout.version = 1
        self._publish(payout)

    def save(self, payout: Payout) -> None:
        payout.version = self.uow.replace_if_version(PAYOUTS, self._traced(payout), payout.version)
        self._publish(payout)

    def _traced(self, payout: Payout) -> Document:
        """The document with the trace of the operation that last moved the payout (an approval,
        an account registration, a processing step); the processor continues it. A change made
        outside any trace (a retry timer) keeps the one stored."""
        trace = current_trace_carrier()
        if not trace:
            stored = self.uow.find_one(PAYOUTS, {"_id": payout.id})
            trace = (stored or {}).get(TRACE, {})
        return {**payout_document(payout), TRACE: trace}

    def trace_of(self, payout_id: str) -> dict[str, str]:
        document = self.uow.db[PAYOUTS].find_one({"_id": payout_id}, {TRACE: 1})
        return dict((document or {}).get(TRACE, {}))

    def of_student(self, student_id: str) -> list[Payout]:
        documents = self.uow.db[PAYOUTS].find({"student_id": student_id}, session=self.uow.session)
        return [payout_from(d) for d in documents]

    def due_for_attempt(self, now: datetime, limit: int) -> list[str]:
        condition = {
            "$or": [
                {"status": PayoutStatus.PENDING.value},
                {
                    "status": PayoutStatus.PROCESSING.value,
                    "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
                },
            ]
        }
        documents = (
            self.uow.db[PAYOUTS]
            .find(
                condition,
                projection={"_id": 1},
                session=self.uow.session,
            )
            .sort("update_time", ASCENDING)
            .limit(limit)
        )
        return [d["_id"] for d in documents]

    def all(self) -> Iterator[Payout]:
        for document in self.uow.db[PAYOUTS].find({}, session=self.uow.session):
            yield payout_from(document)

    def list(self, query: PayoutFilter, page_size: int, page_token: str) -> Page[Payout]:
        clauses: list[Document] = []
        for name in ("student_id", "employer_org_id", "engagement_id"):
            if value := getattr(query, name):
                clauses.append({name: value})
        if query.statuses:
            clauses.append({"status": {"$in": sorted(s.value for s in query.statuses)}})
        condition = {"$and": clauses} if clauses else {}
        return _page(self.uow, PAYOUTS, condition, page_size, page_token, payout_from)

    def _publish(self, payout: Payout) -> None:
        for made in payout.transactions:
            self.ledger.record(made)
        payout.transactions.clear()
        for event in payout.events:
            message = contracts.payout_event(event, payout)
            self.uow.emit(message, subject=payout.id, sequence=payout.version)
        payout.events.clear()


class MongoAccounts:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def get(self, student_id: str) -> PayoutAccount | None:
        document = self.uow.find_one(ACCOUNTS, {"_id": student_id})
        return None if document is None else account_from(document)

    def put(self, account: PayoutAccount) -> None:
        if account.version == 0:
            try:
                self.uow.insert(ACCOUNTS, {**account_document(account), "version": 1})
            except AlreadyExists:
                raise ConcurrencyConflict(f"account of {account.student_id} changed") from None
            account.version = 1
            return
        account.version = self.uow.replace_if_version(
            ACCOUNTS, account_document(account), account.version
        )

    def serialize(self, student_id: str) -> None:
        self.uow.db[STUDENT_LOCKS].update_one(
            {"_id": student_id}, {"$inc": {"changes": 1}}, upsert=True, session=self.uow.session
        )


class MongoReports:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, report: ReconciliationReport) -> None:
        self.uow.insert(REPORTS, report_document(report))


class MongoStore:
    """The repositories of one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.ledger = MongoLedger(uow)
        self.escrows = MongoEscrows(uow, self.ledger)
        self.payouts = MongoPayouts(uow, self.ledger)
        self.accounts = MongoAccounts(uow)
        self.reports = MongoReports(uow)


def request_reconciliation(uow: UnitOfWork, every: timedelta) -> None:
    """The timer fired: ask for a run (made outside any transaction) and schedule the next."""
    document = uow.find_one(SCHEDULES, {"_id": RECONCILIATION}) or {"_id": RECONCILIATION}
    document["requested"] = True
    set_timer(document, RECONCILE_TIMER, uow.clock.now() + every)
    uow.db[SCHEDULES].replace_one(
        {"_id": RECONCILIATION}, document, upsert=True, session=uow.session
    )


def reconciliation_requested(db: Database[Document]) -> bool:
    document = db[SCHEDULES].find_one({"_id": RECONCILIATION})
    return bool(document and document.get("requested"))


def clear_reconciliation_request(uow: UnitOfWork) -> None:
    uow.db[SCHEDULES].update_one(
        {"_id": RECONCILIATION}, {"$set": {"requested": False}}, session=uow.session
    )
