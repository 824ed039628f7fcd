"""What callers ask of the applications service; the gRPC and Kafka entrypoints build these."""

from __future__ import annotations

from dataclasses import dataclass, field

from stint_runtime.values import Actor as Actor

from stint_applications.domain.application import ApplicationStatus, ScreeningAnswer
from stint_applications.domain.engagement import CriterionCheck, EngagementStatus
from stint_applications.domain.listing import ListingSnapshot
from stint_applications.domain.queries import ListOrder


@dataclass(frozen=True)
class Apply:
    actor: Actor
    listing_id: str
    cover_letter: str = ""
    answers: tuple[ScreeningAnswer, ...] = ()


@dataclass(frozen=True)
class WithdrawApplication:
    actor: Actor
    application_id: str
    expected_version: int
    reason: str = ""


@dataclass(frozen=True)
class ShortlistApplication:
    actor: Actor
    application_id: str
    expected_version: int


@dataclass(frozen=True)
class RejectApplication:
    actor: Actor
    application_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class ExtendOffer:
    actor: Actor
    application_id: str
    expected_version: int
    message: str = ""


@dataclass(frozen=True)
class AcceptOffer:
    actor: Actor
    application_id: str
    expected_version: int


@dataclass(frozen=True)
class DeclineOffer:
    actor: Actor
    application_id: str
    expected_version: int
    reason: str = ""


@dataclass(frozen=True)
class GetApplication:
    actor: Actor
    application_id: str


@dataclass(frozen=True)
class ListApplications:
    actor: Actor
    listing_id: str = ""
    student_id: str = ""
    statuses: frozenset[ApplicationStatus] = field(default_factory=frozenset)
    page_size: int = 0
    page_token: str = ""
    order: ListOrder = ListOrder.NEWEST
    needs_my_action: bool = False


@dataclass(frozen=True)
class SubmitDeliverable:
    actor: Actor
    engagement_id: str
    expected_version: int
    note: str
    links: tuple[str, ...] = ()
    checklist: tuple[CriterionCheck, ...] = ()


@dataclass(frozen=True)
class RequestRevision:
    actor: Actor
    engagement_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class ApproveDeliverable:
    actor: Actor
    engagement_id: str
    expected_version: int


@dataclass(frozen=True)
class CancelEngagement:
    actor: Actor
    engagement_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class OpenDispute:
    actor: Actor
    engagement_id: str
    expected_version: int
    reason: str


@dataclass(frozen=True)
class ResolveDispute:
    actor: Actor
    engagement_id: str
    expected_version: int
    payout_percent: int
    resolution: str


@dataclass(frozen=True)
class GetEngagement:
    actor: Actor
    engagement_id: str


@dataclass(frozen=True)
class ListEngagements:
    actor: Actor
    listing_id: str = ""
    student_id: str = ""
    statuses: frozenset[EngagementStatus] = field(default_factory=frozenset)
    page_size: int = 0
    page_token: str = ""
    order: ListOrder = ListOrder.NEWEST
    needs_my_action: bool = False


@dataclass(frozen=True)
class LeaveFeedback:
    actor: Actor
    engagement_id: str
    rating: int
    text: str = ""
    # 0: no version check.
    expected_version: int = 0


@dataclass(frozen=True)
class GetCompletionRecord:
    """By engagement id or by record id (exactly one)."""

    actor: Actor
    engagement_id: str = ""
    record_id: str = ""


@dataclass(frozen=True)
class RecordListing:
    """A `listings.v1` event: the listing as it is after the change."""

    listing: ListingSnapshot


@dataclass(frozen=True)
class RecordPayoutPaid:
    """`payouts.v1` PayoutPaid for the engagement."""

    engagement_id: str


@dataclass(frozen=True)
class ExpireApplication:
    """The application's response-SLA timer fired."""

    application_id: str


@dataclass(frozen=True)
class AutoApprove:
    engagement_id: str


@dataclass(frozen=True)
class ExpireEngagement:
    engagement_id: str


@dataclass(frozen=True)
class PublishFeedback:
    engagement_id: str


@dataclass(frozen=True)
class LapseOffer:
    """The offer's response window ended."""

    application_id: str


@dataclass(frozen=True)
class LapseRevision:
    """The revision window ended with no resubmission."""

    engagement_id: str


@dataclass(frozen=True)
class PostMessage:
    """To the thread of an application or (exactly one) an engagement."""

    actor: Actor
    text: str
    application_id: str = ""
    engagement_id: str = ""
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListMessages:
    actor: Actor
    application_id: str = ""
    engagement_id: str = ""
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class GetStudentProfile:
    actor: Actor
    student_id: str


@dataclass(frozen=True)
class InviteStudent:
    actor: Actor
    listing_id: str
    student_id: str


@dataclass(frozen=True)
class Reputations:
    """The records shown beside applications: students' summaries for employers and admins,
    organisations' records for students and admins."""

    actor: Actor
    student_ids: frozenset[str]
    employer_org_ids: frozenset[str]
