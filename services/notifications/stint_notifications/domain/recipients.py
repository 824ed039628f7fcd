"""THE declared table: which event tells whom, in which category, with which words.

Audiences are resolved from the ids the event carries (student, employer org, listing creator,
a message's author) and from registered contacts (an org's employer contacts, admins).
ListingPublished goes to matching skill subscribers through a resumable fan-out job instead of a
direct lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from stint_notifications.domain.channels import Category


class Audience(StrEnum):
    STUDENT = "student"
    EMPLOYER_ORG = "employer_org"
    LISTING_CREATOR = "listing_creator"
    ADMINS = "admins"
    # The side of a message thread that did not write the message: the org or the student.
    OTHER_PARTY = "other_party"
    SKILL_SUBSCRIBERS = "skill_subscribers"


@dataclass(frozen=True)
class Route:
    """One row: the audiences of an event type, its category and its message (str.format)."""

    audiences: tuple[Audience, ...]
    category: Category
    title: str
    body: str
    engagement_category: Category | None = None
    """The category instead when the event is about an engagement (a thread in its later stage)."""

    def category_for(self, in_engagement: bool) -> Category:
        if in_engagement and self.engagement_category is not None:
            return self.engagement_category
        return self.category


S, ORG = Audience.STUDENT, Audience.EMPLOYER_ORG
L = "stint.listings.v1."
A = "stint.applications.v1."
P = "stint.payouts.v1."

RECIPIENTS: Mapping[str, Route] = {
    # ---- listings --------------------------------------------------------------------------
    L + "ListingRejected": Route(
        (Audience.LISTING_CREATOR,),
        Category.LISTINGS,
        "Your listing was not approved",
        "\u201c{listing}\u201d was not approved by moderation: {reason}",
    ),
    L + "ListingApproved": Route(
        (Audience.LISTING_CREATOR,),
        Category.LISTINGS,
        "Your listing was approved",
        "\u201c{listing}\u201d was approved by moderation: you can publish it now.",
    ),
    L + "ListingExpired": Route(
        (ORG,),
        Category.LISTINGS,
        "Your listing expired",
        "The application deadline of \u201c{listing}\u201d passed.",
    ),
    L + "ListingFilled": Route(
        (ORG,),
        Category.LISTINGS,
        "Every seat is filled",
        "Every seat of \u201c{listing}\u201d now has an active engagement.",
    ),
    L + "ListingPublished": Route(
        (Audience.SKILL_SUBSCRIBERS,),
        Category.SKILL_ALERTS,
        "New project matching your skills",
        "\u201c{listing}\u201d was just published and matches your skills.",
    ),
    # ---- applications ----------------------------------------------------------------------
    A + "ApplicationSubmitted": Route(
        (ORG,),
        Category.APPLICATIONS,
        "New application",
        "A student applied to \u201c{listing}\u201d.",
    ),
    A + "ApplicationShortlisted": Route(
        (S,),
        Category.APPLICATIONS,
        "You are shortlisted",
        "Your application to \u201c{listing}\u201d was shortlisted.",
    ),
    A + "OfferExtended": Route(
        (S,),
        Category.APPLICATIONS,
        "You have an offer",
        "You were offered a seat on \u201c{listing}\u201d. Accept it before it lapses.",
    ),
    A + "OfferAccepted": Route(
        (ORG,),
        Category.APPLICATIONS,
        "Offer accepted",
        "A student accepted your offer for \u201c{listing}\u201d.",
    ),
    A + "OfferDeclined": Route(
        (ORG,),
        Category.APPLICATIONS,
        "Offer declined",
        "A student declined your offer for \u201c{listing}\u201d.",
    ),
    A + "ApplicationRejected": Route(
        (S,),
        Category.APPLICATIONS,
        "Application not selected",
        "Your application to \u201c{listing}\u201d was not selected: {reason}",
    ),
    A + "ApplicationWithdrawn": Route(
        (ORG,),
        Category.APPLICATIONS,
        "Application withdrawn",
        "A student withdrew an application to \u201c{listing}\u201d.",
    ),
    A + "ApplicationExpired": Route(
        (S,),
        Category.APPLICATIONS,
        "Your application expired",
        "The employer did not decide on your application to \u201c{listing}\u201d in time. "
        "It is closed, and you are free to apply elsewhere.",
    ),
    A + "StudentInvited": Route(
        (S,),
        Category.APPLICATIONS,
        "You are invited to apply",
        "You are invited to apply to \u201c{listing}\u201d by an employer you worked with.",
    ),
    # The text stays out of the event and so out of the notice: the recipient reads it in the app.
    A + "MessagePosted": Route(
        (Audience.OTHER_PARTY,),
        Category.APPLICATIONS,
        "New message",
        "New message about \u201c{listing}\u201d. Read and answer it in the conversation.",
        engagement_category=Category.ENGAGEMENTS,
    ),
    # ---- engagements -----------------------------------------------------------------------
    A + "EngagementStarted": Route(
        (S, ORG),
        Category.ENGAGEMENTS,
        "Engagement started",
        "Work on \u201c{listing}\u201d has started.",
    ),
    A + "DeliverableSubmitted": Route(
        (ORG,),
        Category.ENGAGEMENTS,
        "Work submitted for review",
        "The student submitted work on \u201c{listing}\u201d for review.",
    ),
    A + "RevisionRequested": Route(
        (S,),
        Category.ENGAGEMENTS,
        "Revision requested",
        "The employer asked for a revision of your work on \u201c{listing}\u201d.",
    ),
    A + "DeliverableApproved": Route(
        (S,),
        Category.ENGAGEMENTS,
        "Your work was approved",
        "Your work on \u201c{listing}\u201d was approved.",
    ),
    A + "EngagementCancelled": Route(
        (S,),
        Category.ENGAGEMENTS,
        "Engagement cancelled",
        "The employer cancelled the engagement on \u201c{listing}\u201d: {reason}",
    ),
    A + "EngagementExpired": Route(
        (S, ORG),
        Category.ENGAGEMENTS,
        "Engagement expired",
        "The due date of \u201c{listing}\u201d passed with no submission.",
    ),
    A + "DisputeOpened": Route(
        (Audience.ADMINS,),
        Category.OPERATIONS,
        "Dispute to decide",
        "A dispute was opened on engagement {engagement_id} (\u201c{listing}\u201d).",
    ),
    A + "DisputeResolved": Route(
        (ORG, S),
        Category.ENGAGEMENTS,
        "Dispute resolved",
        "The dispute on \u201c{listing}\u201d was resolved: {payout_percent}% of the fee is paid.",
    ),
    A + "FeedbackPublished": Route(
        (S, ORG),
        Category.ENGAGEMENTS,
        "Feedback published",
        "Feedback on \u201c{listing}\u201d is now visible to both sides.",
    ),
    A + "EngagementCompleted": Route(
        (S,),
        Category.ENGAGEMENTS,
        "Completion record issued",
        "Your work on \u201c{listing}\u201d is complete. Completion record: {completion_record_id}",
    ),
    # ---- payouts ---------------------------------------------------------------------------
    P + "PayoutHeld": Route(
        (S,),
        Category.PAYOUTS,
        "Register a payout account",
        "A payout of {amount} is waiting: register a payout account to receive it.",
    ),
    P + "PayoutPaid": Route(
        (S,),
        Category.PAYOUTS,
        "You were paid",
        "A payout of {amount} for \u201c{listing}\u201d was paid.",
    ),
    P + "PayoutFailed": Route(
        (Audience.ADMINS,),
        Category.OPERATIONS,
        "Payout failed",
        "Payout {payout_id} failed after its retries: {reason}",
    ),
    P + "EscrowRefunded": Route(
        (ORG,),
        Category.PAYOUTS,
        "Escrow refunded",
        "{amount} held in escrow for engagement {engagement_id} was refunded.",
    ),
}

WEBHOOK_DISABLED = Route(
    (),
    Category.ACCOUNT,
    "Webhook endpoint disabled",
    "Deliveries to your webhook {webhook_id} kept failing since {failing_since}; "
    "it is disabled. Register it again once it answers.",
)

DIGEST = Route(
    (),
    Category.SKILL_ALERTS,
    "Your daily project digest",
    "{count} new projects match your skills.",
)


def route_for(event_type: str) -> Route | None:
    return RECIPIENTS.get(event_type)
