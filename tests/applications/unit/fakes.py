"""In-memory repositories with the real ones' version checks and uniqueness (unit tests only)."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stint_applications.domain.application import ACTIVE, UNDECIDED, Application
from stint_applications.domain.engagement import Engagement
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import ListingSnapshot
from stint_applications.domain.messages import Message
from stint_applications.domain.queries import (
    ApplicationFilter,
    EngagementFilter,
    Filter,
    ListOrder,
    Page,
)
from stint_applications.domain.seats import Seats
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict


@dataclass
class Journal:
    """Every published event (with the version it was published at) and every status change."""

    events: list[tuple[str, object, int]] = field(default_factory=list)
    status_changes: Counter[str] = field(default_factory=Counter)

    def record(self, aggregate: Any, before: Any) -> None:
        if before is None or before.status != aggregate.status:
            self.status_changes[aggregate.id] += 1
        self.events.extend((aggregate.id, event, aggregate.version) for event in aggregate.events)
        aggregate.events.clear()

    def of(self, aggregate_id: str) -> list[object]:
        return [event for ident, event, _ in self.events if ident == aggregate_id]


def _matches(item: Any, query: Filter[Any]) -> bool:
    return (
        (not query.employer_org_id or item.employer_org_id == query.employer_org_id)
        and (not query.student_id or item.student_id == query.student_id)
        and (not query.listing_id or item.listing_id == query.listing_id)
        and (not query.statuses or item.status in query.statuses)
    )


def _ordered(items: list[Any], query: Filter[Any]) -> list[Any]:
    """Insertion order, or the soonest pending timer first (nothing pending last)."""
    if query.order is not ListOrder.DEADLINE_SOONEST:
        return items
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda i: min(i.wanted_timers().values(), default=far))


def _page(items: list[Any], page_size: int, page_token: str) -> Page[Any]:
    start = int(page_token or 0)
    chunk = items[start : start + page_size]
    more = start + page_size < len(items)
    return Page(items=copy.deepcopy(chunk), next_page_token=str(start + page_size) if more else "")


class FakeApplications:
    def __init__(self, journal: Journal) -> None:
        self.stored: dict[str, Application] = {}
        self.journal = journal

    def add(self, application: Application) -> None:
        # Like the active_key unique index: one ACTIVE application per student and listing.
        if application.id in self.stored or any(
            (a.listing_id, a.student_id) == (application.listing_id, application.student_id)
            and a.status in ACTIVE
            for a in self.stored.values()
        ):
            raise AlreadyExists(application.id)
        self.journal.record(application, None)
        self.stored[application.id] = copy.deepcopy(application)

    def get(self, application_id: str) -> Application | None:
        return copy.deepcopy(self.stored.get(application_id))

    def save(self, application: Application) -> None:
        before = self.stored[application.id]
        if before.version != application.version:
            raise ConcurrencyConflict(application.id)
        application.version += 1
        self.journal.record(application, before)
        self.stored[application.id] = copy.deepcopy(application)

    def undecided_for_listing(self, listing_id: str) -> list[Application]:
        return [
            copy.deepcopy(a)
            for a in self.stored.values()
            if a.listing_id == listing_id and a.status in UNDECIDED
        ]

    def student_applied_to_org(self, student_id: str, employer_org_id: str) -> bool:
        return any(
            (a.student_id, a.employer_org_id) == (student_id, employer_org_id)
            for a in self.stored.values()
        )

    def of_student_on_listing(self, listing_id: str, student_id: str) -> list[Application]:
        return [
            copy.deepcopy(a)
            for a in sorted(self.stored.values(), key=lambda a: a.create_time)
            if (a.listing_id, a.student_id) == (listing_id, student_id)
        ]

    def list(self, query: ApplicationFilter, page_size: int, page_token: str) -> Page[Application]:
        items = [a for a in self.stored.values() if _matches(a, query)]
        return _page(_ordered(items, query), page_size, page_token)


class FakeEngagements:
    def __init__(self, journal: Journal) -> None:
        self.stored: dict[str, Engagement] = {}
        self.journal = journal

    def add(self, engagement: Engagement) -> None:
        if engagement.id in self.stored:
            raise AlreadyExists(engagement.id)
        self.journal.record(engagement, None)
        self.stored[engagement.id] = copy.deepcopy(engagement)

    def get(self, engagement_id: str) -> Engagement | None:
        return copy.deepcopy(self.stored.get(engagement_id))

    def save(self, engagement: Engagement) -> None:
        before = self.stored[engagement.id]
        if before.version != engagement.version:
            raise ConcurrencyConflict(engagement.id)
        engagement.version += 1
        self.journal.record(engagement, before)
        self.stored[engagement.id] = copy.deepcopy(engagement)

    def of_party(self, *, student_id: str = "", employer_org_id: str = "") -> list[Engagement]:
        if not (student_id or employer_org_id):
            return []
        return [
            copy.deepcopy(e)
            for e in self.stored.values()
            if (not student_id or e.student_id == student_id)
            and (not employer_org_id or e.employer_org_id == employer_org_id)
        ]

    def with_completion_record(self, record_id: str) -> Engagement | None:
        for engagement in self.stored.values():
            if engagement.completion_record_id == record_id:
                return copy.deepcopy(engagement)
        return None

    def list(self, query: EngagementFilter, page_size: int, page_token: str) -> Page[Engagement]:
        items = [e for e in self.stored.values() if _matches(e, query)]
        return _page(_ordered(items, query), page_size, page_token)


class FakeMessages:
    def __init__(self) -> None:
        self.stored: list[Message] = []

    def add(self, message: Message) -> None:
        self.stored.append(message)

    def list(self, thread_id: str, page_size: int, page_token: str) -> Page[Message]:
        newest_first = [m for m in reversed(self.stored) if m.thread.id == thread_id]
        return _page(newest_first, page_size, page_token)


class FakeInvitations:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], Invitation] = {}

    def add(self, invitation: Invitation) -> None:
        key = (invitation.listing_id, invitation.student_id)
        if key in self.stored:
            raise AlreadyExists(invitation.id)
        self.stored[key] = invitation

    def get(self, listing_id: str, student_id: str) -> Invitation | None:
        return self.stored.get((listing_id, student_id))


class FakeListings:
    def __init__(self) -> None:
        self.stored: dict[str, ListingSnapshot] = {}

    def get(self, listing_id: str) -> ListingSnapshot | None:
        return self.stored.get(listing_id)

    def put(self, snapshot: ListingSnapshot) -> None:
        self.stored[snapshot.id] = snapshot


class FakeSeats:
    def __init__(self) -> None:
        self.stored: dict[str, Seats] = {}

    def get(self, listing_id: str) -> Seats:
        return copy.deepcopy(self.stored.get(listing_id, Seats(listing_id)))

    def save(self, seats: Seats) -> None:
        stored = self.stored.get(seats.listing_id, Seats(seats.listing_id))
        if stored.version != seats.version:
            raise ConcurrencyConflict(seats.listing_id)
        seats.version += 1
        self.stored[seats.listing_id] = copy.deepcopy(seats)


class FakeStore:
    def __init__(self, *listings: ListingSnapshot) -> None:
        self.journal = Journal()
        self.applications = FakeApplications(self.journal)
        self.engagements = FakeEngagements(self.journal)
        self.listings = FakeListings()
        self.seats = FakeSeats()
        self.messages = FakeMessages()
        self.invitations = FakeInvitations()
        for snapshot in listings:
            self.listings.put(snapshot)

    def events_of(self, aggregate_id: str) -> list[object]:
        return self.journal.of(aggregate_id)
