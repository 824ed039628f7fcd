"""What happened; the contracts adapter turns each into its `applications.v1` event.

Each status change of an application or engagement records exactly one event; the only
event without a status change is FeedbackPublished.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApplicationEvent:
    application_id: str


@dataclass(frozen=True)
class ApplicationSubmitted(ApplicationEvent):
    pass


@dataclass(frozen=True)
class ApplicationShortlisted(ApplicationEvent):
    pass


@dataclass(frozen=True)
class OfferExtended(ApplicationEvent):
    pass


@dataclass(frozen=True)
class OfferAccepted(ApplicationEvent):
    engagement_id: str


@dataclass(frozen=True)
class OfferDeclined(ApplicationEvent):
    pass


@dataclass(frozen=True)
class ApplicationRejected(ApplicationEvent):
    reason: str


@dataclass(frozen=True)
class ApplicationWithdrawn(ApplicationEvent):
    pass


@dataclass(frozen=True)
class ApplicationExpired(ApplicationEvent):
    pass


@dataclass(frozen=True)
class EngagementEvent:
    engagement_id: str


@dataclass(frozen=True)
class EngagementStarted(EngagementEvent):
    pass


@dataclass(frozen=True)
class DeliverableSubmitted(EngagementEvent):
    submission_number: int


@dataclass(frozen=True)
class RevisionRequested(EngagementEvent):
    submission_number: int


@dataclass(frozen=True)
class DeliverableApproved(EngagementEvent):
    auto_approved: bool


@dataclass(frozen=True)
class EngagementCancelled(EngagementEvent):
    reason: str


@dataclass(frozen=True)
class EngagementExpired(EngagementEvent):
    pass


@dataclass(frozen=True)
class DisputeOpened(EngagementEvent):
    pass


@dataclass(frozen=True)
class DisputeResolved(EngagementEvent):
    payout_percent: int


@dataclass(frozen=True)
class FeedbackPublished(EngagementEvent):
    pass


@dataclass(frozen=True)
class EngagementCompleted(EngagementEvent):
    completion_record_id: str
