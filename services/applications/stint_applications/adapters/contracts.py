"""The `stint.applications.v1` contract: aggregates and events <-> protobuf messages, and the
consumed `listings.v1` / `payouts.v1` events -> commands.

Events carry ids, states, numbers and times, and exactly these texts: the employer's reason in
ApplicationRejected and EngagementCancelled (the event's `reason` and the embedded
Application.reason / Engagement.cancellation_reason; the student and integrators need it, and a
listing closing gives its own fixed reason there), the fixed reason of an expired application
or lapsed offer, the listing title (also in the application's listing terms), and feedback once
published (FeedbackPublished and the embedded engagement). Everything else users write stays
out of them: cover letters, screening answers, offer messages, the student's withdraw/decline
reasons, submission notes, links and checklists, revision reasons, dispute reasons and
resolutions, unpublished feedback, message texts and links (MessagePosted says only who wrote
where); so do the agreed acceptance criteria. Consumers read those through the API, where
authorization applies.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.message import Message
from stint.applications.v1 import events_pb2, resources_pb2
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.payouts.v1 import events_pb2 as payouts_events
from stint_runtime.proto_values import moment, money, timestamp
from stint_runtime.values import Money

from stint_applications.domain import events
from stint_applications.domain.application import (
    OFFER_LAPSE_TIMER,
    RESPOND_TIMER,
    Application,
    ApplicationStatus,
    ListingTerms,
)
from stint_applications.domain.commands import RecordListing, RecordPayoutPaid
from stint_applications.domain.engagement import (
    AUTO_APPROVE_TIMER,
    EXPIRE_TIMER,
    PUBLISH_FEEDBACK_TIMER,
    REVISION_LAPSE_TIMER,
    CompletionClaim,
    Engagement,
    EngagementStatus,
    Feedback,
    Outcome,
    Party,
)
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import (
    ListingSnapshot,
    ListingStatus,
    ScreeningQuestion,
    agreed_criteria,
)
from stint_applications.domain.messages import Message as ThreadMessage
from stint_applications.domain.reputation import EmployerRecord, StudentProfile, StudentSummary

APPLICATION_STATUS_TO_PROTO: dict[ApplicationStatus, resources_pb2.ApplicationStatus.ValueType] = {
    s: resources_pb2.ApplicationStatus.Value(f"APPLICATION_STATUS_{s.value}")
    for s in ApplicationStatus
}
APPLICATION_STATUS_FROM_PROTO = {v: s for s, v in APPLICATION_STATUS_TO_PROTO.items()}
ENGAGEMENT_STATUS_TO_PROTO: dict[EngagementStatus, resources_pb2.EngagementStatus.ValueType] = {
    s: resources_pb2.EngagementStatus.Value(f"ENGAGEMENT_STATUS_{s.value}")
    for s in EngagementStatus
}
ENGAGEMENT_STATUS_FROM_PROTO = {v: s for s, v in ENGAGEMENT_STATUS_TO_PROTO.items()}
PARTY_TO_PROTO: dict[Party, resources_pb2.Party.ValueType] = {
    p: resources_pb2.Party.Value(f"PARTY_{p.value}") for p in Party
}
LISTING_STATUS_FROM_PROTO: dict[listings_resources.ListingStatus.ValueType, ListingStatus] = {
    listings_resources.ListingStatus.Value(f"LISTING_STATUS_{s.value}"): s for s in ListingStatus
}
OUTCOME_TO_PROTO: dict[Outcome, resources_pb2.CompletionOutcome.ValueType] = {
    o: resources_pb2.CompletionOutcome.Value(f"COMPLETION_OUTCOME_{o.value}") for o in Outcome
}
# Student-written reasons stay out of events.
PRIVATE_REASON = frozenset({ApplicationStatus.WITHDRAWN, ApplicationStatus.DECLINED})


def application_message(
    application: Application, *, redacted: bool = False
) -> resources_pb2.Application:
    message = resources_pb2.Application(
        id=application.id,
        listing_id=application.listing_id,
        employer_org_id=application.employer_org_id,
        student_id=application.student_id,
        status=APPLICATION_STATUS_TO_PROTO[application.status],
        reason=application.reason,
        engagement_id=application.engagement_id,
        version=application.version,
        create_time=timestamp(application.create_time),
        update_time=timestamp(application.update_time),
        decide_by_time=timestamp(application.wanted_timers().get(RESPOND_TIMER)),
        invited=application.invited,
        respond_by_time=timestamp(application.wanted_timers().get(OFFER_LAPSE_TIMER)),
    )
    if application.terms is not None:
        message.listing.CopyFrom(terms_message(application.terms))
    if redacted:
        if application.status in PRIVATE_REASON:
            message.reason = ""
    else:
        message.cover_letter = application.cover_letter
        message.offer_message = application.offer_message
        message.answers.extend(
            resources_pb2.ScreeningAnswer(question_id=a.question_id, answer=a.answer)
            for a in application.answers
        )
    return message


def terms_message(terms: ListingTerms) -> resources_pb2.ListingTerms:
    return resources_pb2.ListingTerms(
        title=terms.title,
        employer_org_id=terms.employer_org_id,
        fee=money(terms.fee),
        estimated_hours=terms.estimated_hours,
        application_deadline=timestamp(terms.application_deadline),
        due_date=timestamp(terms.due_date),
    )


def feedback_message(feedback: Feedback) -> resources_pb2.Feedback:
    return resources_pb2.Feedback(
        author=PARTY_TO_PROTO[feedback.author],
        author_id=feedback.author_id,
        rating=feedback.rating,
        text=feedback.text,
        submit_time=timestamp(feedback.submit_time),
    )


def engagement_message(
    engagement: Engagement, viewer: Party | None, *, redacted: bool = False
) -> resources_pb2.Engagement:
    """The engagement as `viewer` may see it: only published feedback, or the viewer's own."""
    timers = engagement.wanted_timers()
    deadline = (
        timers.get(AUTO_APPROVE_TIMER)
        or timers.get(EXPIRE_TIMER)
        or timers.get(REVISION_LAPSE_TIMER)
    )
    message = resources_pb2.Engagement(
        id=engagement.id,
        application_id=engagement.application_id,
        listing_id=engagement.listing_id,
        listing_title=engagement.listing_title,
        employer_org_id=engagement.employer_org_id,
        student_id=engagement.student_id,
        fee=money(engagement.fee),
        status=ENGAGEMENT_STATUS_TO_PROTO[engagement.status],
        due_date=timestamp(engagement.due_date),
        revisions_remaining=engagement.revisions_remaining,
        feedback=[feedback_message(f) for f in engagement.visible_feedback(viewer)],
        feedback_published=engagement.feedback_published,
        cancellation_reason=engagement.cancellation_reason,
        payout_percent=engagement.payout_percent,
        version=engagement.version,
        start_time=timestamp(engagement.start_time),
        update_time=timestamp(engagement.update_time),
        deadline_time=timestamp(deadline),
        complete_time=timestamp(engagement.complete_time),
        accept_time=timestamp(engagement.accept_time),
        feedback_due_time=timestamp(timers.get(PUBLISH_FEEDBACK_TIMER)),
        completion_record_id=engagement.completion_record_id,
    )
    if not redacted:
        message.acceptance_criteria.extend(engagement.acceptance_criteria)
    for s in engagement.submissions:
        submission = message.submissions.add(number=s.number, submit_time=timestamp(s.submit_time))
        if not redacted:
            submission.note = s.note
            submission.links.extend(s.links)
            submission.checklist.extend(
                resources_pb2.CriterionCheck(criterion=k.criterion, met=k.met, comment=k.comment)
                for k in s.checklist
            )
    for r in engagement.revisions:
        message.revisions.add(
            submission_number=r.submission_number,
            reason="" if redacted else r.reason,
            request_time=timestamp(r.request_time),
        )
    if (d := engagement.dispute) is not None:
        message.dispute.CopyFrom(
            resources_pb2.Dispute(
                opened_by=PARTY_TO_PROTO[d.opened_by],
                opened_by_user_id=d.opened_by_user_id,
                reason="" if redacted else d.reason,
                open_time=timestamp(d.open_time),
                payout_percent=d.payout_percent,
                resolution="" if redacted else d.resolution,
                resolved_by_user_id=d.resolved_by_user_id,
                resolve_time=timestamp(d.resolve_time),
            )
        )
    return message


_APPLICATION_EVENTS: dict[type[events.ApplicationEvent], Callable[..., Message]] = {
    events.ApplicationSubmitted: events_pb2.ApplicationSubmitted,
    events.ApplicationShortlisted: events_pb2.ApplicationShortlisted,
    events.OfferExtended: events_pb2.OfferExtended,
    events.OfferAccepted: events_pb2.OfferAccepted,
    events.OfferDeclined: events_pb2.OfferDeclined,
    events.ApplicationRejected: events_pb2.ApplicationRejected,
    events.ApplicationWithdrawn: events_pb2.ApplicationWithdrawn,
    events.ApplicationExpired: events_pb2.ApplicationExpired,
}

_ENGAGEMENT_EVENTS: dict[type[events.EngagementEvent], Callable[..., Message]] = {
    events.EngagementStarted: events_pb2.EngagementStarted,
    events.DeliverableSubmitted: events_pb2.DeliverableSubmitted,
    events.RevisionRequested: events_pb2.RevisionRequested,
    events.DeliverableApproved: events_pb2.DeliverableApproved,
    events.EngagementCancelled: events_pb2.EngagementCancelled,
    events.EngagementExpired: events_pb2.EngagementExpired,
    events.DisputeOpened: events_pb2.DisputeOpened,
    events.DisputeResolved: events_pb2.DisputeResolved,
    events.FeedbackPublished: events_pb2.FeedbackPublished,
    events.EngagementCompleted: events_pb2.EngagementCompleted,
}


def _event_fields(event: object) -> dict[str, object]:
    """The event's own fields besides the aggregate id (reason, numbers, flags)."""
    return {
        name: value
        for name, value in vars(event).items()
        if name not in {"application_id", "engagement_id"}
    }


def application_event(event: events.ApplicationEvent, application: Application) -> Message:
    """The `applications.v1` event for `event`, carrying the application after the change."""
    return _APPLICATION_EVENTS[type(event)](
        application_id=event.application_id,
        application=application_message(application, redacted=True),
        **_event_fields(event),
    )


def engagement_event(event: events.EngagementEvent, engagement: Engagement) -> Message:
    """The `applications.v1` event for `event`, carrying the engagement after the change."""
    fields = _event_fields(event)
    if isinstance(event, events.FeedbackPublished):
        fields["feedback"] = [feedback_message(f) for f in engagement.visible_feedback(None)]
    return _ENGAGEMENT_EVENTS[type(event)](
        engagement_id=event.engagement_id,
        engagement=engagement_message(engagement, None, redacted=True),
        **fields,
    )


def completion_claim_message(claim: CompletionClaim, key_id: str) -> resources_pb2.CompletionClaim:
    """The claim as signed by the key named `key_id`."""
    return resources_pb2.CompletionClaim(
        record_id=claim.record_id,
        key_id=key_id,
        engagement_id=claim.engagement_id,
        listing_id=claim.listing_id,
        listing_title=claim.listing_title,
        employer_org_id=claim.employer_org_id,
        student_id=claim.student_id,
        skills=claim.skills,
        estimated_hours=claim.estimated_hours,
        complete_time=timestamp(claim.complete_time),
        issue_time=timestamp(claim.issue_time),
        outcome=OUTCOME_TO_PROTO[claim.outcome],
        payout_percent=claim.payout_percent,
        start_time=timestamp(claim.start_time),
        due_date=timestamp(claim.due_date),
    )


def listing_snapshot(listing: listings_resources.Listing) -> ListingSnapshot:
    return ListingSnapshot(
        id=listing.id,
        employer_org_id=listing.employer_org_id,
        status=LISTING_STATUS_FROM_PROTO[listing.status],
        title=listing.title,
        fee=Money(listing.fee.amount_minor, listing.fee.currency),
        seats=listing.seats,
        application_deadline=moment(listing.application_deadline),
        due_date=moment(listing.due_date),
        version=listing.version,
        screening_questions=tuple(
            ScreeningQuestion(q.id, q.text, q.required) for q in listing.screening_questions
        ),
        skills=tuple(listing.skills),
        estimated_hours=listing.estimated_hours,
        acceptance_criteria=agreed_criteria(d.acceptance_criteria for d in listing.deliverables),
    )


def record_listing(event: Message) -> RecordListing:
    """Any `listings.v1` event: each carries the listing after the change in `listing`."""
    listing = getattr(event, "listing", None)
    if not isinstance(listing, listings_resources.Listing):
        raise TypeError(f"{type(event).__name__} carries no listing")
    return RecordListing(listing_snapshot(listing))


def record_payout_paid(event: payouts_events.PayoutPaid) -> RecordPayoutPaid:
    return RecordPayoutPaid(engagement_id=event.payout.engagement_id)


def message_message(message: ThreadMessage) -> resources_pb2.Message:
    return resources_pb2.Message(
        id=message.id,
        application_id=message.thread.application_id,
        engagement_id=message.thread.engagement_id,
        author=PARTY_TO_PROTO[message.author],
        author_id=message.author_id,
        text=message.text,
        links=message.links,
        create_time=timestamp(message.create_time),
    )


def message_posted(message: ThreadMessage) -> events_pb2.MessagePosted:
    """Who wrote where and when; never the text or links."""
    thread = message.thread
    return events_pb2.MessagePosted(
        message_id=message.id,
        application_id=thread.application_id,
        engagement_id=thread.engagement_id,
        listing_id=thread.listing_id,
        employer_org_id=thread.employer_org_id,
        student_id=thread.student_id,
        author=PARTY_TO_PROTO[message.author],
        author_id=message.author_id,
        create_time=timestamp(message.create_time),
    )


def invitation_message(invitation: Invitation) -> resources_pb2.Invitation:
    return resources_pb2.Invitation(
        id=invitation.id,
        listing_id=invitation.listing_id,
        employer_org_id=invitation.employer_org_id,
        student_id=invitation.student_id,
        invited_by=invitation.invited_by,
        create_time=timestamp(invitation.create_time),
    )


def student_invited(invitation: Invitation) -> events_pb2.StudentInvited:
    return events_pb2.StudentInvited(
        invitation_id=invitation.id, invitation=invitation_message(invitation)
    )


def summary_message(summary: StudentSummary) -> resources_pb2.StudentSummary:
    return resources_pb2.StudentSummary(
        completed_engagements=summary.completed_engagements,
        on_time_percent=summary.on_time_percent,
        ratings=summary.ratings,
        average_rating_x100=summary.average_rating_x100,
    )


def profile_message(profile: StudentProfile) -> resources_pb2.StudentProfile:
    return resources_pb2.StudentProfile(
        student_id=profile.student_id,
        summary=summary_message(profile.summary),
        skills_demonstrated=profile.skills_demonstrated,
        ratings=[feedback_message(f) for f in profile.ratings],
    )


def employer_record_message(record: EmployerRecord) -> resources_pb2.EmployerRecord:
    return resources_pb2.EmployerRecord(
        employer_org_id=record.employer_org_id,
        ratings=record.ratings,
        average_rating_x100=record.average_rating_x100,
        disputes=record.disputes,
        accepted_submissions=record.accepted_submissions,
        on_time_approval_percent=record.on_time_approval_percent,
    )
