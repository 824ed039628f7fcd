"""Real contract events for the notifications tests, carrying the ids recipients come from."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.common.v1 import money_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint.payouts.v1 import events_pb2 as payouts_events
from stint_runtime.clock import ManualClock
from stint_runtime.messaging.envelope import descriptor_of, new_envelope

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MODULES = (listings_events, applications_events, payouts_events)


def event_class(full_name: str) -> type[Message]:
    descriptor = descriptor_of(full_name)
    for module in MODULES:
        if module.DESCRIPTOR.package == descriptor.file.package:
            cls: type[Message] = getattr(module, descriptor.name)
            return cls
    raise LookupError(full_name)


def build_event(
    full_name: str,
    *,
    student: str = "stu-1",
    org: str = "org-a",
    creator: str = "emp-1",
    listing_id: str = "lst-1",
    title: str = "Data cleanup <script>",
    skills: tuple[str, ...] = ("python",),
    remote: bool = True,
    fee_minor: int = 50_000,
    author: applications_resources.Party.ValueType = applications_resources.PARTY_STUDENT,
) -> Message:
    """An event of type `full_name` about `student` and `org`, as the producing service sends it."""
    cls = event_class(full_name)
    event = cls()
    fields = event.DESCRIPTOR.fields_by_name
    fee = money_pb2.Money(amount_minor=fee_minor, currency="EUR")
    if "listing" in fields:
        listing = event.listing  # type: ignore[attr-defined]
        listing.id = listing_id
        listing.employer_org_id = org
        listing.created_by = creator
        listing.title = title
        listing.skills.extend(skills)
        listing.industry = "software"
        listing.remote = remote
        listing.fee.CopyFrom(fee)
        event.listing_id = listing_id  # type: ignore[attr-defined]
    if "application" in fields:
        application = event.application  # type: ignore[attr-defined]
        application.id = "app-1"
        application.listing_id = listing_id
        application.student_id = student
        application.employer_org_id = org
        event.application_id = "app-1"  # type: ignore[attr-defined]
    if "engagement" in fields:
        engagement = event.engagement  # type: ignore[attr-defined]
        engagement.id = "eng-1"
        engagement.listing_id = listing_id
        engagement.listing_title = title
        engagement.student_id = student
        engagement.employer_org_id = org
        engagement.fee.CopyFrom(fee)
        event.engagement_id = "eng-1"  # type: ignore[attr-defined]
    if "payout" in fields:
        payout = event.payout  # type: ignore[attr-defined]
        payout.id = "pay-1"
        payout.engagement_id = "eng-1"
        payout.listing_id = listing_id
        payout.student_id = student
        payout.employer_org_id = org
        payout.amount.CopyFrom(fee)
        event.payout_id = "pay-1"  # type: ignore[attr-defined]
    if "employer_org_id" in fields:
        event.employer_org_id = org  # type: ignore[attr-defined]
        event.engagement_id = "eng-1"  # type: ignore[attr-defined]
    if "author" in fields:
        # A message in the engagement's thread, by `author` (the student or `creator`).
        event.message_id = "msg-1"  # type: ignore[attr-defined]
        event.listing_id = listing_id  # type: ignore[attr-defined]
        event.student_id = student  # type: ignore[attr-defined]
        event.author = author  # type: ignore[attr-defined]
        by_student = author == applications_resources.PARTY_STUDENT
        event.author_id = student if by_student else creator  # type: ignore[attr-defined]
    if "invitation" in fields:
        invitation = event.invitation  # type: ignore[attr-defined]
        invitation.id = "inv-1"
        invitation.listing_id = listing_id
        invitation.employer_org_id = org
        invitation.student_id = student
        invitation.invited_by = creator
        event.invitation_id = "inv-1"  # type: ignore[attr-defined]
    if "amount" in fields:
        event.amount.CopyFrom(fee)  # type: ignore[attr-defined]
    if "reason" in fields:
        event.reason = "not a fit"  # type: ignore[attr-defined]
    return event


def envelope_of(event: Message, subject: str = "agg-1", source: str = "test") -> EventEnvelope:
    return new_envelope(event, source=source, subject=subject, clock=ManualClock(NOW))
