"""A service's outbox and failed timers, read and repaired in its own database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stint_runtime.ops import EXIT_REFUSED, OperatorError
from stint_runtime.persistence.mongo import Document

OUTBOX = "outbox"
FAILED_TIMERS = "failed_timers"
PENDING: Document = {"published_at": None, "parked_at": None}  # None also matches "missing"
PARKED: Document = {"parked_at": {"$ne": None}}
PARKED_SHOWN = 50


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def outbox_status(db: Any, now: datetime) -> dict[str, Any]:
    """Pending and parked counts, the oldest pending record's age, the parked records."""
    outbox = db[OUTBOX]
    oldest = outbox.find_one(PENDING, sort=[("created_at", 1)], projection={"created_at": 1})
    oldest_at = _aware(oldest["created_at"]) if oldest and oldest.get("created_at") else None
    parked = [
        {
            "id": str(doc["_id"]),
            "topic": doc.get("topic"),
            "key": doc.get("key"),
            "type": doc.get("type"),
            "attempts": doc.get("attempts", 0),
            "parked_at": doc.get("parked_at"),
            "reason": doc.get("parked_reason"),
            "last_error": doc.get("last_error"),
        }
        for doc in outbox.find(PARKED, projection={"envelope": 0})
        .sort("parked_at", 1)
        .limit(PARKED_SHOWN)
    ]
    return {
        "database": db.name,
        "pending": outbox.count_documents(PENDING),
        "parked": outbox.count_documents(PARKED),
        "oldest_pending_created_at": oldest_at,
        "oldest_pending_age_seconds": (
            round((now - oldest_at).total_seconds(), 3) if oldest_at else None
        ),
        "parked_records": parked,
    }


def requeue(db: Any, record_id: str) -> Document:
    """Unpark one record (attempts back to 0) so the relay sends it again."""
    outbox = db[OUTBOX]
    updated: Document | None = outbox.find_one_and_update(
        {"_id": record_id, **PARKED},
        {"$unset": {"parked_at": "", "parked_reason": ""}, "$set": {"attempts": 0}},
        projection={"envelope": 0},
    )
    if updated is not None:
        return updated
    existing = outbox.find_one({"_id": record_id}, projection={"published_at": 1})
    if existing is None:
        raise OperatorError(f"no outbox record {record_id!r} in {db.name}", EXIT_REFUSED)
    state = "already published" if existing.get("published_at") else "pending"
    raise OperatorError(f"outbox record {record_id!r} is not parked ({state})", EXIT_REFUSED)


def failed_timers(db: Any) -> list[Document]:
    """Timers that exhausted their retries, most recent failure first."""
    return [
        {
            "id": str(doc["_id"]),
            "collection": doc.get("collection"),
            "aggregate_id": doc.get("aggregate_id"),
            "name": doc.get("name"),
            "due_at": doc.get("due_at"),
            "failures": doc.get("failures"),
            "reason": doc.get("reason"),
            "failed_at": doc.get("failed_at"),
        }
        for doc in db[FAILED_TIMERS].find().sort("failed_at", -1)
    ]
