"""What this service knows of a listing: a snapshot kept from the `listings.v1` events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stint_runtime.values import Money


class ListingStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_REVIEW = "PENDING_REVIEW"
    PUBLISHED = "PUBLISHED"
    FILLED = "FILLED"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


# A listing entering one of these ends its undecided applications, with this reason.
CLOSING_REASONS: dict[ListingStatus, str] = {
    ListingStatus.CLOSED: "the listing was closed",
    ListingStatus.CANCELLED: "the listing was cancelled",
    ListingStatus.EXPIRED: "the listing's application deadline passed",
    ListingStatus.FILLED: "every seat of the listing is filled",
}


@dataclass(frozen=True)
class ScreeningQuestion:
    id: str
    text: str
    required: bool = False


def agreed_criteria(per_deliverable: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The deliverables' acceptance criteria flattened in order, each text once.

    A checklist entry names its criterion by text, so the same text under two deliverables is
    one criterion to check.
    """
    return tuple(dict.fromkeys(c for criteria in per_deliverable for c in criteria))


@dataclass(frozen=True)
class ListingSnapshot:
    """The listing as of its `version`; an older event never overwrites a newer snapshot."""

    id: str
    employer_org_id: str
    status: ListingStatus
    title: str
    fee: Money
    seats: int
    application_deadline: datetime
    due_date: datetime
    version: int
    screening_questions: tuple[ScreeningQuestion, ...] = ()
    skills: tuple[str, ...] = ()
    estimated_hours: int = 0
    # Every deliverable's criteria, flattened in order (see agreed_criteria).
    acceptance_criteria: tuple[str, ...] = ()

    def supersedes(self, stored: ListingSnapshot | None) -> bool:
        return stored is None or self.version > stored.version

    def closing_reason(self, previous: ListingSnapshot | None) -> str | None:
        """The rejection reason when this snapshot closes the listing, else None."""
        reason = CLOSING_REASONS.get(self.status)
        if reason is None or (previous is not None and previous.status is self.status):
            return None
        return reason

    def open_for_applications(self, now: datetime) -> bool:
        return self.status is ListingStatus.PUBLISHED and now < self.application_deadline
