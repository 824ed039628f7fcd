"""One plain function per RPC, consumed event and timer: load, authorize, call the domain, save.

Saving through a repository also stages the aggregate's new events in the same unit of work,
so state and events commit together. Ownership lives here: a student acts on its own
applications and engagements, an employer on those of its organisation's listings, an admin
resolves disputes; an application or engagement the caller may not see is NOT_FOUND.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from stint_runtime.clock import Clock
from stint_runtime.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from stint_runtime.persistence.pages import page_size
from stint_runtime.values import at_millis

from stint_applications.domain import commands as c
from stint_applications.domain.application import (
    ACTIVE,
    AWAITING_EMPLOYER,
    Application,
    ApplicationStatus,
)
from stint_applications.domain.engagement import (
    PAYABLE,
    CompletionClaim,
    Engagement,
    EngagementStatus,
    Party,
)
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import ListingSnapshot, ListingStatus
from stint_applications.domain.messages import Message, Thread
from stint_applications.domain.queries import (
    ApplicationFilter,
    EngagementFilter,
    Filter,
    Page,
)
from stint_applications.domain.reputation import (
    EmployerRecord,
    StudentProfile,
    StudentSummary,
    completed,
    employer_record,
    student_profile,
)
from stint_applications.domain.rules import Policy
from stint_applications.service_layer.ports import Store

log = logging.getLogger("stint.applications")
# Where an accepted offer may still start an engagement: an offer made while the listing was
# open survives its close, expiry or filling (a seat must be free); a cancellation ends it.
ACCEPTING = frozenset(
    {ListingStatus.PUBLISHED, ListingStatus.FILLED, ListingStatus.CLOSED, ListingStatus.EXPIRED}
)

# Listings a student cannot see (never published): applying to one is NOT_FOUND.
UNLISTED = frozenset({ListingStatus.DRAFT, ListingStatus.PENDING_REVIEW, ListingStatus.REJECTED})


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Context:
    """What every handler may need besides its command and repositories."""

    clock: Clock
    policy: Policy = field(default_factory=Policy)
    new_id: Callable[[], str] = _new_id
    default_page_size: int = 20

    def now(self) -> datetime:
        return at_millis(self.clock.now())


@dataclass(frozen=True)
class Accepted:
    application: Application
    engagement: Engagement


# ---- authorization -------------------------------------------------------------------------

PartyCheck = Callable[[c.Actor, str, str], bool]


def _student(actor: c.Actor, student_id: str, org: str) -> bool:
    return actor.is_student_of(student_id)


def _employer(actor: c.Actor, student_id: str, org: str) -> bool:
    return actor.owns(org)


def _either_party(actor: c.Actor, student_id: str, org: str) -> bool:
    return actor.is_student_of(student_id) or actor.owns(org)


def _admin(actor: c.Actor, student_id: str, org: str) -> bool:
    return actor.is_admin


def _anyone_who_sees(actor: c.Actor, student_id: str, org: str) -> bool:
    return True


def _authorize(
    actor: c.Actor, kind: str, ident: str, student: str, org: str, may: PartyCheck
) -> None:
    if not (actor.is_admin or _either_party(actor, student, org)):
        raise NotFound(f"{kind} {ident} not found")
    if not may(actor, student, org):
        raise PermissionDenied(f"not allowed to do this to {kind} {ident}")


def viewer_of(actor: c.Actor, engagement: Engagement) -> Party | None:
    """The caller's side of the engagement (for the double-blind feedback view)."""
    if actor.is_student_of(engagement.student_id):
        return Party.STUDENT
    if actor.owns(engagement.employer_org_id):
        return Party.EMPLOYER
    return None


class ApplicationCommand(Protocol):
    @property
    def actor(self) -> c.Actor: ...
    @property
    def application_id(self) -> str: ...


class EngagementCommand(Protocol):
    @property
    def actor(self) -> c.Actor: ...
    @property
    def engagement_id(self) -> str: ...


def _check_version(kind: str, ident: str, version: int, expected: int) -> None:
    if version != expected:
        raise ConcurrencyConflict(
            f"{kind} {ident} is at version {version}, not the expected {expected}"
        )


def _application(
    store: Store, cmd: ApplicationCommand, may: PartyCheck, expected_version: int | None = None
) -> Application:
    application = store.applications.get(cmd.application_id)
    if application is None:
        raise NotFound(f"application {cmd.application_id} not found")
    _authorize(
        cmd.actor,
        "application",
        application.id,
        application.student_id,
        application.employer_org_id,
        may,
    )
    if expected_version is not None:
        _check_version("application", application.id, application.version, expected_version)
    return application


def _engagement(
    store: Store, cmd: EngagementCommand, may: PartyCheck, expected_version: int | None = None
) -> Engagement:
    engagement = store.engagements.get(cmd.engagement_id)
    if engagement is None:
        raise NotFound(f"engagement {cmd.engagement_id} not found")
    _authorize(
        cmd.actor,
        "engagement",
        engagement.id,
        engagement.student_id,
        engagement.employer_org_id,
        may,
    )
    if expected_version is not None:
        _check_version("engagement", engagement.id, engagement.version, expected_version)
    return engagement


def _listing(store: Store, listing_id: str) -> ListingSnapshot:
    listing = store.listings.get(listing_id)
    if listing is None or listing.status in UNLISTED:
        raise NotFound(f"listing {listing_id} not found")
    return listing


# ---- applications --------------------------------------------------------------------------


def check_may_apply_again(
    earlier: list[Application], policy: Policy, *, invited: bool = False
) -> None:
    """One active application per student and listing; another only after one that ended
    withdrawn, expired or rejected because the listing filled (or any ending, when the
    employer invited the student since); at most N in all."""
    if any(a.status in ACTIVE for a in earlier):
        raise AlreadyExists("the student already applied to this listing and it is still active")
    final = [] if invited else [a for a in earlier if not a.may_reapply_after]
    if final:
        raise FailedPrecondition(
            f"cannot apply again to a listing after an application that is {final[0].status.value}"
        )
    if len(earlier) >= policy.max_applications_per_listing:
        raise FailedPrecondition(
            f"cannot apply more than {policy.max_applications_per_listing} times to a listing"
        )


def apply(cmd: c.Apply, store: Store, ctx: Context) -> Application:
    if not cmd.actor.is_student:
        raise PermissionDenied("only students apply to listings")
    listing = _listing(store, cmd.listing_id)
    invited = store.invitations.get(listing.id, cmd.actor.subject) is not None
    check_may_apply_again(
        store.applications.of_student_on_listing(listing.id, cmd.actor.subject),
        ctx.policy,
        invited=invited,
    )
    application = Application.submit(
        application_id=ctx.new_id(),
        listing=listing,
        student_id=cmd.actor.subject,
        cover_letter=cmd.cover_letter,
        answers=cmd.answers,
        policy=ctx.policy,
        now=ctx.now(),
        invited=invited,
    )
    store.applications.add(application)
    return application


def withdraw_application(cmd: c.WithdrawApplication, store: Store, ctx: Context) -> Application:
    application = _application(store, cmd, _student, cmd.expected_version)
    application.withdraw(cmd.reason, ctx.now())
    store.applications.save(application)
    return application


def shortlist_application(cmd: c.ShortlistApplication, store: Store, ctx: Context) -> Application:
    application = _application(store, cmd, _employer, cmd.expected_version)
    application.shortlist(ctx.policy, ctx.now())
    store.applications.save(application)
    return application


def reject_application(cmd: c.RejectApplication, store: Store, ctx: Context) -> Application:
    application = _application(store, cmd, _employer, cmd.expected_version)
    application.reject(cmd.reason, ctx.now())
    store.applications.save(application)
    return application


def extend_offer(cmd: c.ExtendOffer, store: Store, ctx: Context) -> Application:
    application = _application(store, cmd, _employer, cmd.expected_version)
    application.extend_offer(cmd.message, ctx.now(), ctx.policy.offer_window)
    store.applications.save(application)
    return application


def accept_offer(cmd: c.AcceptOffer, store: Store, ctx: Context) -> Accepted:
    """Takes one of the listing's seats: the seats' version check lets one racer win the last."""
    application = _application(store, cmd, _student, cmd.expected_version)
    now = ctx.now()
    engagement_id = ctx.new_id()
    application.accept(engagement_id, now)
    listing = store.listings.get(application.listing_id)
    if listing is None:
        raise NotFound(f"listing {application.listing_id} not found")
    if listing.status not in ACCEPTING:
        # A cancelled listing withdraws its offers too, but an acceptance may read the snapshot
        # before that rejection lands. A full listing is refused by its seats.
        raise FailedPrecondition(
            f"cannot accept an offer on a listing that is {listing.status.value}"
        )
    seats = store.seats.get(listing.id)
    seats.take(engagement_id, listing.seats)
    engagement = Engagement.start(
        engagement_id=engagement_id,
        application=application,
        listing=listing,
        policy=ctx.policy,
        now=now,
    )
    store.seats.save(seats)
    store.applications.save(application)
    store.engagements.add(engagement)
    return Accepted(application, engagement)


def decline_offer(cmd: c.DeclineOffer, store: Store, ctx: Context) -> Application:
    application = _application(store, cmd, _student, cmd.expected_version)
    application.decline(cmd.reason, ctx.now())
    store.applications.save(application)
    return application


def get_application(query: c.GetApplication, store: Store, ctx: Context) -> Application:
    return _application(store, query, _anyone_who_sees)


def _visible(actor: c.Actor, student_id: str) -> tuple[str, str]:
    """(employer_org_id, student_id) restrictions for the caller's list queries."""
    if actor.is_admin:
        return "", student_id
    if actor.role == "employer" and actor.org:
        return actor.org, student_id
    if actor.is_student:
        if student_id and student_id != actor.subject:
            raise PermissionDenied("students list only their own applications and engagements")
        return "", actor.subject
    raise PermissionDenied("only students, employers and admins list these")


A = ApplicationStatus
E = EngagementStatus
# What waits for each role ("needs my action").
APPLICATIONS_AWAITING: dict[str | None, frozenset[ApplicationStatus]] = {
    "employer": frozenset({A.SUBMITTED, A.SHORTLISTED}),
    "student": frozenset({A.OFFERED}),
    "admin": frozenset(),
}
ENGAGEMENTS_AWAITING: dict[str | None, frozenset[EngagementStatus]] = {
    "employer": frozenset({E.SUBMITTED}),
    "student": frozenset({E.ACTIVE, E.REVISION_REQUESTED}),
    "admin": frozenset({E.DISPUTED}),
}


def _statuses(
    requested: frozenset[Any], needs_action: bool, awaiting: frozenset[Any]
) -> frozenset[Any] | None:
    """The statuses to list; None when nothing can match (needs-my-action narrowed it away)."""
    if not needs_action:
        return requested
    narrowed = requested & awaiting if requested else awaiting
    return narrowed or None


def list_applications(query: c.ListApplications, store: Store, ctx: Context) -> Page[Application]:
    org, student = _visible(query.actor, query.student_id)
    statuses = _statuses(
        query.statuses,
        query.needs_my_action,
        APPLICATIONS_AWAITING.get(query.actor.role, frozenset()),
    )
    if statuses is None:
        return Page(items=[])
    application_filter: ApplicationFilter = Filter(
        employer_org_id=org,
        student_id=student,
        listing_id=query.listing_id,
        statuses=statuses,
        order=query.order,
    )
    return store.applications.list(
        application_filter, page_size(query.page_size, ctx.default_page_size), query.page_token
    )


# ---- engagements ---------------------------------------------------------------------------


def _free_seat(store: Store, engagement: Engagement) -> None:
    seats = store.seats.get(engagement.listing_id)
    if seats.free(engagement.id):
        store.seats.save(seats)


def submit_deliverable(cmd: c.SubmitDeliverable, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _student, cmd.expected_version)
    engagement.submit(cmd.note, cmd.links, cmd.checklist, ctx.policy, ctx.now())
    store.engagements.save(engagement)
    return engagement


def request_revision(cmd: c.RequestRevision, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _employer, cmd.expected_version)
    engagement.request_revision(cmd.reason, ctx.now(), ctx.policy)
    store.engagements.save(engagement)
    return engagement


def approve_deliverable(cmd: c.ApproveDeliverable, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _employer, cmd.expected_version)
    engagement.approve(ctx.now(), ctx.new_id(), ctx.policy)
    store.engagements.save(engagement)
    return engagement


def cancel_engagement(cmd: c.CancelEngagement, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _employer, cmd.expected_version)
    engagement.cancel(cmd.reason, ctx.now())
    _free_seat(store, engagement)
    store.engagements.save(engagement)
    return engagement


def open_dispute(cmd: c.OpenDispute, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _either_party, cmd.expected_version)
    party = viewer_of(cmd.actor, engagement)
    assert party is not None
    engagement.open_dispute(party, cmd.actor.subject, cmd.reason, ctx.now())
    store.engagements.save(engagement)
    return engagement


def resolve_dispute(cmd: c.ResolveDispute, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _admin, cmd.expected_version)
    engagement.resolve_dispute(
        cmd.actor.subject,
        cmd.payout_percent,
        cmd.resolution,
        ctx.now(),
        record_id=ctx.new_id(),
        policy=ctx.policy,
    )
    store.engagements.save(engagement)
    return engagement


def get_engagement(query: c.GetEngagement, store: Store, ctx: Context) -> Engagement:
    return _engagement(store, query, _anyone_who_sees)


def list_engagements(query: c.ListEngagements, store: Store, ctx: Context) -> Page[Engagement]:
    org, student = _visible(query.actor, query.student_id)
    statuses = _statuses(
        query.statuses,
        query.needs_my_action,
        ENGAGEMENTS_AWAITING.get(query.actor.role, frozenset()),
    )
    if statuses is None:
        return Page(items=[])
    engagement_filter: EngagementFilter = Filter(
        employer_org_id=org,
        student_id=student,
        listing_id=query.listing_id,
        statuses=statuses,
        order=query.order,
    )
    return store.engagements.list(
        engagement_filter, page_size(query.page_size, ctx.default_page_size), query.page_token
    )


def leave_feedback(cmd: c.LeaveFeedback, store: Store, ctx: Context) -> Engagement:
    engagement = _engagement(store, cmd, _either_party, cmd.expected_version or None)
    party = viewer_of(cmd.actor, engagement)
    assert party is not None
    engagement.leave_feedback(party, cmd.actor.subject, cmd.rating, cmd.text, ctx.policy, ctx.now())
    store.engagements.save(engagement)
    return engagement


def get_completion_record(
    query: c.GetCompletionRecord, store: Store, ctx: Context
) -> CompletionClaim:
    """The claim to sign (adapters.signing), by engagement or record id; FAILED_PRECONDITION
    until the work is accepted (or when a dispute gave the student no share)."""
    if bool(query.engagement_id) == bool(query.record_id):
        raise InvalidArgument("engagement_id", "set exactly one of engagement_id and record_id")
    if query.record_id:
        found = store.engagements.with_completion_record(query.record_id)
        if found is None:
            raise NotFound(f"completion record {query.record_id} not found")
        query = c.GetCompletionRecord(query.actor, found.id)
    return _engagement(store, query, _anyone_who_sees).completion_claim()


# ---- messages ------------------------------------------------------------------------------


class ThreadQuery(Protocol):
    @property
    def actor(self) -> c.Actor: ...
    @property
    def application_id(self) -> str: ...
    @property
    def engagement_id(self) -> str: ...


def _thread(store: Store, query: ThreadQuery, may: PartyCheck) -> Thread:
    """The thread named by exactly one of application_id / engagement_id, if the caller is
    allowed (NOT_FOUND for whoever is neither a party nor an admin)."""
    if bool(query.application_id) == bool(query.engagement_id):
        raise InvalidArgument("application_id", "set exactly one of application_id, engagement_id")
    if query.application_id:
        a = _application(store, query, may)
        return Thread(a.id, "", a.listing_id, a.employer_org_id, a.student_id)
    e = _engagement(store, query, may)
    return Thread("", e.id, e.listing_id, e.employer_org_id, e.student_id)


def post_message(cmd: c.PostMessage, store: Store, ctx: Context) -> Message:
    """The student or the employer organisation writes; admins read but do not post."""
    thread = _thread(store, cmd, _either_party)
    author = Party.STUDENT if cmd.actor.is_student_of(thread.student_id) else Party.EMPLOYER
    message = Message.post(
        message_id=ctx.new_id(),
        thread=thread,
        author=author,
        author_id=cmd.actor.subject,
        text=cmd.text,
        links=cmd.links,
        now=ctx.now(),
    )
    store.messages.add(message)
    return message


def list_messages(query: c.ListMessages, store: Store, ctx: Context) -> Page[Message]:
    thread = _thread(store, query, _anyone_who_sees)
    size = page_size(query.page_size, ctx.default_page_size)
    return store.messages.list(thread.id, size, query.page_token)


# ---- reputation and invitations ------------------------------------------------------------


def get_student_profile(query: c.GetStudentProfile, store: Store, ctx: Context) -> StudentProfile:
    """The student, admins, and employers whose organisation the student applied to."""
    actor = query.actor
    allowed = (
        actor.is_admin
        or actor.is_student_of(query.student_id)
        or (
            actor.role == "employer"
            and actor.org is not None
            and store.applications.student_applied_to_org(query.student_id, actor.org)
        )
    )
    if not allowed:
        raise NotFound(f"student profile {query.student_id} not found")
    return student_profile(
        query.student_id, store.engagements.of_party(student_id=query.student_id)
    )


@dataclass(frozen=True)
class Records:
    students: dict[str, StudentSummary]
    employers: dict[str, EmployerRecord]


def reputations(query: c.Reputations, store: Store, ctx: Context) -> Records:
    """Summaries beside the applications a caller sees: employers see students', students see
    organisations', admins both. Callers pass only ids of applications they may see."""
    actor = query.actor
    students: dict[str, StudentSummary] = {}
    employers: dict[str, EmployerRecord] = {}
    if actor.is_admin or actor.role == "employer":
        for student_id in query.student_ids:
            found = store.engagements.of_party(student_id=student_id)
            students[student_id] = student_profile(student_id, found).summary
    if actor.is_admin or actor.is_student:
        for org in query.employer_org_ids:
            employers[org] = employer_record(org, store.engagements.of_party(employer_org_id=org))
    return Records(students, employers)


def invite_student(cmd: c.InviteStudent, store: Store, ctx: Context) -> Invitation:
    """Only to an open listing of the caller's organisation, only a student who completed work
    for it, once per listing and student."""
    actor = cmd.actor
    listing = store.listings.get(cmd.listing_id)
    if listing is None or not actor.owns(listing.employer_org_id):
        raise NotFound(f"listing {cmd.listing_id} not found")
    now = ctx.now()
    if not listing.open_for_applications(now):
        raise FailedPrecondition(
            f"cannot invite to a listing that is not open for applications ({listing.status.value})"
        )
    worked = store.engagements.of_party(student_id=cmd.student_id)
    if not any(e.employer_org_id == listing.employer_org_id and completed(e) for e in worked):
        raise FailedPrecondition(
            "cannot invite a student who has not completed an engagement with the organisation"
        )
    earlier = store.applications.of_student_on_listing(listing.id, cmd.student_id)
    if any(a.status in ACTIVE for a in earlier):
        raise FailedPrecondition("cannot invite a student who already applied to the listing")
    invitation = Invitation(
        id=ctx.new_id(),
        listing_id=listing.id,
        employer_org_id=listing.employer_org_id,
        student_id=cmd.student_id,
        invited_by=actor.subject,
        create_time=now,
    )
    store.invitations.add(invitation)
    return invitation


# ---- consumed events -----------------------------------------------------------------------


def record_listing(cmd: c.RecordListing, store: Store, ctx: Context) -> bool:
    """Keep the newest snapshot; a closing listing rejects its undecided applications.

    Returns False for an event older than the stored snapshot (redelivered or reordered).
    """
    snapshot = cmd.listing
    stored = store.listings.get(snapshot.id)
    if not snapshot.supersedes(stored):
        return False
    store.listings.put(snapshot)
    if stored is None:
        seats = store.seats.get(snapshot.id)
        if seats.version == 0:
            # Created now, so racing acceptances only ever compete on its version.
            store.seats.save(seats)
    reason = snapshot.closing_reason(stored)
    if reason is not None:
        now = ctx.now()
        ending = store.applications.undecided_for_listing(snapshot.id)
        for application in ending:
            if application.status not in AWAITING_EMPLOYER and (
                snapshot.status is not ListingStatus.CANCELLED
            ):
                continue  # an offer outlives the listing's close, expiry or filling
            application.reject(reason, now)
            store.applications.save(application)
    return True


def record_payout_paid(cmd: c.RecordPayoutPaid, store: Store, ctx: Context) -> Engagement | None:
    """PAID and the completion record issued; a redelivery changes nothing."""
    engagement = store.engagements.get(cmd.engagement_id)
    if engagement is None or engagement.status not in PAYABLE | {EngagementStatus.PAID}:
        log.warning(
            "payout paid for an engagement that is not payable",
            extra={"engagement_id": cmd.engagement_id},
        )
        return None
    if engagement.mark_paid(ctx.new_id(), ctx.now()):
        store.engagements.save(engagement)
    return engagement


# ---- timers (each a no-op when the state it belonged to was left) ---------------------------


def expire_application(cmd: c.ExpireApplication, store: Store, ctx: Context) -> Application | None:
    application = store.applications.get(cmd.application_id)
    now = ctx.now()
    if (
        application is None
        or application.status not in AWAITING_EMPLOYER
        or application.decide_by is None
        or now < application.decide_by
    ):
        return None
    application.expire(now)
    store.applications.save(application)
    return application


def lapse_offer(cmd: c.LapseOffer, store: Store, ctx: Context) -> Application | None:
    application = store.applications.get(cmd.application_id)
    now = ctx.now()
    if (
        application is None
        or application.status is not ApplicationStatus.OFFERED
        or application.respond_by is None
        or now < application.respond_by
    ):
        return None
    application.lapse_offer(now)
    store.applications.save(application)
    return application


def _due(engagement: Engagement | None, status: EngagementStatus, now: datetime) -> bool:
    return (
        engagement is not None
        and engagement.status is status
        and engagement.deadline is not None
        and engagement.deadline <= now
    )


def auto_approve(cmd: c.AutoApprove, store: Store, ctx: Context) -> Engagement | None:
    engagement = store.engagements.get(cmd.engagement_id)
    now = ctx.now()
    if engagement is None or not _due(engagement, EngagementStatus.SUBMITTED, now):
        return None
    engagement.auto_approve(now, ctx.new_id(), ctx.policy)
    store.engagements.save(engagement)
    return engagement


def expire_engagement(cmd: c.ExpireEngagement, store: Store, ctx: Context) -> Engagement | None:
    engagement = store.engagements.get(cmd.engagement_id)
    now = ctx.now()
    if engagement is None or not _due(engagement, EngagementStatus.ACTIVE, now):
        return None
    engagement.expire(now)
    _free_seat(store, engagement)
    store.engagements.save(engagement)
    return engagement


def lapse_revision(cmd: c.LapseRevision, store: Store, ctx: Context) -> Engagement | None:
    """No resubmission within the revision window: DISPUTED, "revision not delivered"."""
    engagement = store.engagements.get(cmd.engagement_id)
    now = ctx.now()
    if engagement is None or not _due(engagement, EngagementStatus.REVISION_REQUESTED, now):
        return None
    engagement.revision_lapsed(now)
    store.engagements.save(engagement)
    return engagement


def publish_feedback(cmd: c.PublishFeedback, store: Store, ctx: Context) -> Engagement | None:
    engagement = store.engagements.get(cmd.engagement_id)
    now = ctx.now()
    if (
        engagement is None
        or not engagement.feedback_open
        or engagement.feedback_due is None
        or now < engagement.feedback_due
    ):
        return None
    engagement.publish_feedback(now)
    store.engagements.save(engagement)
    return engagement


Handler = Callable[[Any, Store, Context], object]

HANDLERS: dict[type[Any], Handler] = {
    c.Apply: apply,
    c.WithdrawApplication: withdraw_application,
    c.ShortlistApplication: shortlist_application,
    c.RejectApplication: reject_application,
    c.ExtendOffer: extend_offer,
    c.AcceptOffer: accept_offer,
    c.DeclineOffer: decline_offer,
    c.GetApplication: get_application,
    c.ListApplications: list_applications,
    c.SubmitDeliverable: submit_deliverable,
    c.RequestRevision: request_revision,
    c.ApproveDeliverable: approve_deliverable,
    c.CancelEngagement: cancel_engagement,
    c.OpenDispute: open_dispute,
    c.ResolveDispute: resolve_dispute,
    c.GetEngagement: get_engagement,
    c.ListEngagements: list_engagements,
    c.LeaveFeedback: leave_feedback,
    c.GetCompletionRecord: get_completion_record,
    c.RecordListing: record_listing,
    c.RecordPayoutPaid: record_payout_paid,
    c.ExpireApplication: expire_application,
    c.AutoApprove: auto_approve,
    c.ExpireEngagement: expire_engagement,
    c.PublishFeedback: publish_feedback,
    c.LapseOffer: lapse_offer,
    c.LapseRevision: lapse_revision,
    c.PostMessage: post_message,
    c.ListMessages: list_messages,
    c.GetStudentProfile: get_student_profile,
    c.InviteStudent: invite_student,
    c.Reputations: reputations,
}


def handle(message: object, store: Store, ctx: Context) -> object:
    return HANDLERS[type(message)](message, store, ctx)
