"""The Listing aggregate: its lifecycle (DESIGN.md §2), seats and the timers it wants."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stint_runtime.errors import FailedPrecondition

from stint_listings.domain.content import ListingContent
from stint_listings.domain.events import (
    ListingApproved,
    ListingCancelled,
    ListingClosed,
    ListingEvent,
    ListingExpired,
    ListingFilled,
    ListingPublished,
    ListingRejected,
    ListingReopened,
    ListingSubmitted,
    ListingUpdated,
)
from stint_listings.domain.rules import (
    PostingRules,
    check_content,
    check_dates_ahead,
    check_live_edit,
    check_publishable,
    check_ready_for_review,
    check_reason,
)

log = logging.getLogger("stint.listings")

EXPIRE_TIMER = "expire"


class ListingStatus(StrEnum):
    DRAFT = "DRAFT"
    PENDING_REVIEW = "PENDING_REVIEW"
    PUBLISHED = "PUBLISHED"
    FILLED = "FILLED"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


S = ListingStatus
EDITABLE = frozenset({S.DRAFT, S.REJECTED})
CANCELLABLE = frozenset({S.DRAFT, S.PENDING_REVIEW, S.PUBLISHED, S.FILLED, S.REJECTED})
# Where engagements may still start (offers made before a close or expiry can be accepted).
SEAT_HOLDING = frozenset({S.PUBLISHED, S.FILLED, S.CLOSED, S.EXPIRED})
# What anyone browses (search) without owning it.
PUBLIC = frozenset({S.PUBLISHED, S.FILLED})
# What anyone reads by id: applicants and engaged students keep the listing once it ended.
READABLE = PUBLIC | {S.CLOSED, S.EXPIRED}


@dataclass
class Listing:
    id: str
    employer_org_id: str
    created_by: str
    content: ListingContent
    create_time: datetime
    update_time: datetime
    status: ListingStatus = S.DRAFT
    version: int = 1
    # Engagements holding a seat: a set, so a redelivered event can never count twice.
    seat_holders: frozenset[str] = frozenset()
    # Engagements started while every seat was held, earliest first. Applications owns the
    # seat limit, so such a start only arrived before the cancellation that made room for it
    # (events are keyed by engagement, so their order across engagements is not kept).
    seat_waiting: tuple[str, ...] = ()
    reviewed_by: str = ""
    approve_time: datetime | None = None
    moderation_reason: str = ""
    submit_time: datetime | None = None
    publish_time: datetime | None = None
    end_time: datetime | None = None
    events: list[ListingEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def create(
        cls,
        *,
        listing_id: str,
        employer_org_id: str,
        created_by: str,
        content: ListingContent,
        rules: PostingRules,
        now: datetime,
    ) -> Listing:
        check_content(content, rules)
        check_dates_ahead(content, rules, now)
        return cls(
            id=listing_id,
            employer_org_id=employer_org_id,
            created_by=created_by,
            content=content,
            create_time=now,
            update_time=now,
        )

    @property
    def seats_filled(self) -> int:
        return len(self.seat_holders)

    @property
    def approved(self) -> bool:
        return self.approve_time is not None

    def wanted_timers(self) -> dict[str, datetime]:
        """Timers this state needs; any other stored timer is cancelled on save."""
        if self.status is S.PUBLISHED:
            return {EXPIRE_TIMER: self.content.application_deadline}
        return {}

    def _require(self, allowed: frozenset[ListingStatus] | set[ListingStatus], action: str) -> None:
        if self.status not in allowed:
            raise FailedPrecondition(f"cannot {action} a listing that is {self.status.value}")

    def _move(self, status: ListingStatus, now: datetime, event: ListingEvent) -> None:
        self.status = status
        self.update_time = now
        self.events.append(event)

    def update(self, content: ListingContent, rules: PostingRules, now: datetime) -> None:
        """DRAFT and REJECTED: any edit. PENDING_REVIEW (approved or not): any edit, and the
        listing goes back to DRAFT, since moderation saw other content. PUBLISHED: the limited
        edit of check_live_edit, as published terms bind applicants."""
        self._require(EDITABLE | {S.PENDING_REVIEW, S.PUBLISHED}, "update")
        if self.status is S.PUBLISHED:
            check_live_edit(self.content, content, rules, now)
        else:
            check_content(content, rules)
            dates = ("application_deadline", "due_date")
            if any(getattr(content, d) != getattr(self.content, d) for d in dates):
                check_dates_ahead(content, rules, now)  # new dates are checked when written
        self.content = content
        status = self.status
        if status is S.PENDING_REVIEW:
            status = S.DRAFT
            self.reviewed_by = ""
            self.approve_time = None
            self.submit_time = None
        self._move(status, now, ListingUpdated(self.id))

    def submit_for_review(self, rules: PostingRules, now: datetime) -> None:
        self._require(EDITABLE, "submit for review")
        check_content(self.content, rules)
        check_ready_for_review(self.content, now)
        self.moderation_reason = ""
        self.submit_time = now
        self.end_time = None
        self._move(S.PENDING_REVIEW, now, ListingSubmitted(self.id))

    def approve(self, reviewer: str, now: datetime) -> None:
        """Moderation passed: recorded and announced (ListingApproved); the employer publishes."""
        self._require({S.PENDING_REVIEW}, "approve")
        if self.approved:
            raise FailedPrecondition("cannot approve a listing that is already approved")
        self.reviewed_by = reviewer
        self.approve_time = now
        self._move(self.status, now, ListingApproved(self.id))

    def reject(self, reviewer: str, reason: str, now: datetime) -> None:
        self._require({S.PENDING_REVIEW}, "reject")
        check_reason("reason", reason, required=True)
        self.reviewed_by = reviewer
        self.approve_time = None
        self.moderation_reason = reason
        self.end_time = now
        self._move(S.REJECTED, now, ListingRejected(self.id, reason))

    def publish(self, rules: PostingRules, now: datetime) -> None:
        self._require({S.PENDING_REVIEW}, "publish")
        if not self.approved:
            raise FailedPrecondition("cannot publish a PENDING_REVIEW listing before approval")
        check_publishable(self.content, rules, now)
        self.publish_time = now
        self._move(S.PUBLISHED, now, ListingPublished(self.id))

    def close(self, reason: str, now: datetime) -> None:
        self._require({S.PUBLISHED, S.FILLED}, "close")
        check_reason("reason", reason, required=False)
        self.moderation_reason = reason
        self.end_time = now
        self._move(S.CLOSED, now, ListingClosed(self.id, reason))

    def cancel(self, reason: str, now: datetime) -> None:
        self._require(CANCELLABLE, "cancel")
        check_reason("reason", reason, required=True)
        self.moderation_reason = reason
        self.end_time = now
        self._move(S.CANCELLED, now, ListingCancelled(self.id, reason))

    def expire(self, now: datetime) -> None:
        """At the application deadline a PUBLISHED listing expires; a FILLED one keeps running."""
        self._require({S.PUBLISHED}, "expire")
        if now < self.content.application_deadline:
            raise FailedPrecondition("cannot expire a listing before its application deadline")
        self.end_time = now
        self._move(S.EXPIRED, now, ListingExpired(self.id))

    def seat_taken(self, engagement_id: str, now: datetime) -> bool:
        """Count the engagement's seat once; False when it was already counted.

        A start on a full listing waits for the seat its holder's cancellation will free:
        the seat is never dropped and never over-filled.
        """
        if engagement_id in self.seat_holders or engagement_id in self.seat_waiting:
            return False
        self._require(SEAT_HOLDING, "take a seat on")
        self.update_time = now
        if self.seats_filled >= self.content.seats:
            self.seat_waiting = (*self.seat_waiting, engagement_id)
            return True
        self.seat_holders = self.seat_holders | {engagement_id}
        if self.status is S.PUBLISHED and self.seats_filled == self.content.seats:
            self.end_time = now
            self._move(S.FILLED, now, ListingFilled(self.id))
        return True

    def seat_freed(self, engagement_id: str, now: datetime) -> bool:
        """Free the engagement's seat, or its place in line; False when it had neither.

        A freed seat goes to the earliest waiting engagement; the listing reopens only when a
        seat is left over. A listing reopened after its deadline is PUBLISHED with a past-due
        expiry timer, so it expires on the timer's next pass.
        """
        if engagement_id in self.seat_waiting:
            self.seat_waiting = tuple(e for e in self.seat_waiting if e != engagement_id)
            self.update_time = now
            return True
        if engagement_id not in self.seat_holders:
            return False
        self.seat_holders = self.seat_holders - {engagement_id}
        self.update_time = now
        while self.seat_waiting and self.seats_filled < self.content.seats:
            promoted, *rest = self.seat_waiting
            self.seat_holders = self.seat_holders | {promoted}
            self.seat_waiting = tuple(rest)
        if self.status is S.FILLED and self.seats_filled < self.content.seats:
            self.end_time = None
            self._move(S.PUBLISHED, now, ListingReopened(self.id))
        return True
