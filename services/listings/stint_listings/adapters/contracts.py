"""The `stint.listings.v1` contract: the aggregate and its events <-> protobuf messages."""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from stint.applications.v1 import events_pb2 as applications_events
from stint.listings.v1 import events_pb2, resources_pb2
from stint_runtime.proto_values import moment, money, money_from, timestamp

from stint_listings.domain import events
from stint_listings.domain.commands import FreeSeat, TakeSeat
from stint_listings.domain.content import Deliverable, ListingContent, ScreeningQuestion
from stint_listings.domain.model import Listing, ListingStatus

STATUS_TO_PROTO: dict[ListingStatus, resources_pb2.ListingStatus.ValueType] = {
    status: resources_pb2.ListingStatus.Value(f"LISTING_STATUS_{status.value}")
    for status in ListingStatus
}
STATUS_FROM_PROTO = {value: status for status, value in STATUS_TO_PROTO.items()}


def content_from(message: resources_pb2.ListingContent) -> ListingContent:
    return ListingContent(
        title=message.title,
        description=message.description,
        skills=tuple(message.skills),
        industry=message.industry,
        deliverables=tuple(
            Deliverable(d.title, d.description, tuple(d.acceptance_criteria))
            for d in message.deliverables
        ),
        estimated_hours=message.estimated_hours,
        fee=money_from(message.fee),
        seats=message.seats,
        application_deadline=moment(message.application_deadline),
        due_date=moment(message.due_date),
        remote=message.remote,
        location=message.location,
        screening_questions=tuple(
            ScreeningQuestion(q.id, q.text, q.required) for q in message.screening_questions
        ),
    )


def listing_message(listing: Listing, *, show_creator: bool = True) -> resources_pb2.Listing:
    """The listing; `show_creator` False (anonymous callers) leaves created_by empty."""
    content = listing.content
    return resources_pb2.Listing(
        id=listing.id,
        employer_org_id=listing.employer_org_id,
        created_by=listing.created_by if show_creator else "",
        title=content.title,
        description=content.description,
        skills=content.skills,
        industry=content.industry,
        deliverables=[
            resources_pb2.Deliverable(
                title=d.title,
                description=d.description,
                acceptance_criteria=d.acceptance_criteria,
            )
            for d in content.deliverables
        ],
        estimated_hours=content.estimated_hours,
        fee=money(content.fee),
        seats=content.seats,
        seats_filled=listing.seats_filled,
        application_deadline=timestamp(content.application_deadline),
        due_date=timestamp(content.due_date),
        remote=content.remote,
        location=content.location,
        screening_questions=[
            resources_pb2.ScreeningQuestion(id=q.id, text=q.text, required=q.required)
            for q in content.screening_questions
        ],
        status=STATUS_TO_PROTO[listing.status],
        moderation_reason=listing.moderation_reason,
        version=listing.version,
        create_time=timestamp(listing.create_time),
        update_time=timestamp(listing.update_time),
        submit_time=timestamp(listing.submit_time),
        publish_time=timestamp(listing.publish_time),
        end_time=timestamp(listing.end_time),
        approved_by=listing.reviewed_by if listing.approved else "",
        approve_time=timestamp(listing.approve_time),
    )


_EVENTS: dict[type[events.ListingEvent], Callable[..., Message]] = {
    events.ListingSubmitted: events_pb2.ListingSubmitted,
    events.ListingPublished: events_pb2.ListingPublished,
    events.ListingApproved: events_pb2.ListingApproved,
    events.ListingUpdated: events_pb2.ListingUpdated,
    events.ListingRejected: events_pb2.ListingRejected,
    events.ListingFilled: events_pb2.ListingFilled,
    events.ListingReopened: events_pb2.ListingReopened,
    events.ListingClosed: events_pb2.ListingClosed,
    events.ListingCancelled: events_pb2.ListingCancelled,
    events.ListingExpired: events_pb2.ListingExpired,
}


def event_message(event: events.ListingEvent, listing: Listing) -> Message:
    """The `listings.v1` event for `event`, carrying the listing as it is after the change."""
    fields: dict[str, object] = {
        "listing_id": event.listing_id,
        "listing": listing_message(listing),
    }
    reason = getattr(event, "reason", None)
    if reason is not None:
        fields["reason"] = reason
    return _EVENTS[type(event)](**fields)


def take_seat(event: applications_events.EngagementStarted) -> TakeSeat:
    return TakeSeat(listing_id=event.engagement.listing_id, engagement_id=event.engagement_id)


def free_seat(
    event: applications_events.EngagementCancelled | applications_events.EngagementExpired,
) -> FreeSeat:
    return FreeSeat(listing_id=event.engagement.listing_id, engagement_id=event.engagement_id)
