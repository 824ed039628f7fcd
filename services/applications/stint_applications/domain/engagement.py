"""The Engagement aggregate: one filled seat, from the accepted offer to payment (DESIGN.md §2).

Timers, declared with the state they belong to (Sharetribe style):
- ACTIVE: `expire` at the listing's due date + grace (fixed, from the start);
- SUBMITTED: `auto_approve` at the LAST-entered SUBMITTED + auto-approve days, so every
  resubmission restarts it;
- REVISION_REQUESTED: `revision_lapse` at the LAST revision request + the revision window: the
  platform opens a dispute ("revision not delivered") for an admin to decide the payout;
- DISPUTED waits for an admin;
- `publish_feedback` at the acceptance of the work (APPROVED, AUTO_APPROVED, RESOLVED) + the
  feedback window: what is in is published, later feedback is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stint_runtime.errors import FailedPrecondition, InvalidArgument
from stint_runtime.values import Money

from stint_applications.domain import events as e
from stint_applications.domain.application import Application
from stint_applications.domain.listing import ListingSnapshot
from stint_applications.domain.rules import (
    MAX_CHECK_COMMENT,
    MAX_FEEDBACK_TEXT,
    MAX_LONG_TEXT,
    MAX_REASON,
    Policy,
    check_links,
    check_percent,
    check_rating,
    check_text,
)

EXPIRE_TIMER = "expire"
AUTO_APPROVE_TIMER = "auto_approve"
PUBLISH_FEEDBACK_TIMER = "publish_feedback"
REVISION_LAPSE_TIMER = "revision_lapse"
REVISION_NOT_DELIVERED = "revision not delivered"


class EngagementStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUBMITTED = "SUBMITTED"
    REVISION_REQUESTED = "REVISION_REQUESTED"
    APPROVED = "APPROVED"
    AUTO_APPROVED = "AUTO_APPROVED"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    DISPUTED = "DISPUTED"
    RESOLVED = "RESOLVED"


class Party(StrEnum):
    EMPLOYER = "EMPLOYER"
    STUDENT = "STUDENT"
    # Only ever opens a dispute (the revision window lapsed); never leaves feedback.
    PLATFORM = "PLATFORM"


SIDES = frozenset({Party.EMPLOYER, Party.STUDENT})
DEFAULT_POLICY = Policy()


E = EngagementStatus
# States in which the engagement holds one of the listing's seats.
HOLDING_SEAT = frozenset(
    {E.ACTIVE, E.SUBMITTED, E.REVISION_REQUESTED, E.APPROVED, E.AUTO_APPROVED}
    | {E.PAID, E.DISPUTED, E.RESOLVED}
)
PAYABLE = frozenset({E.APPROVED, E.AUTO_APPROVED, E.RESOLVED})
DISPUTABLE = frozenset({E.SUBMITTED, E.REVISION_REQUESTED})


class Outcome(StrEnum):
    """How the work was accepted, as a completion record states it."""

    APPROVED = "APPROVED"
    AUTO_APPROVED = "AUTO_APPROVED"
    RESOLVED = "RESOLVED"


FEEDBACK_OPEN = PAYABLE | {E.PAID}


@dataclass(frozen=True)
class CriterionCheck:
    """The student's declaration on one acceptance criterion, named by its exact text."""

    criterion: str
    met: bool
    comment: str = ""


def check_checklist(
    criteria: tuple[str, ...], checklist: tuple[CriterionCheck, ...]
) -> tuple[CriterionCheck, ...]:
    """The checklist in the criteria's order, if it has exactly one check per criterion.

    Decision: a submission states, for every acceptance criterion agreed when the engagement
    started, whether the student considers it met. Checks are matched by exact criterion
    text in any order; a missing, unknown or repeated criterion is INVALID_ARGUMENT on
    `checklist`. `met` may be false: the student declares honestly and the employer decides
    (approve, request a revision or dispute), so an unmet criterion never blocks submitting.
    """
    by_text: dict[str, CriterionCheck] = {}
    for i, check in enumerate(checklist):
        check_text(f"checklist[{i}].comment", check.comment, MAX_CHECK_COMMENT, required=False)
        if check.criterion not in criteria:
            raise InvalidArgument(
                "checklist", f"names an unknown acceptance criterion {_clip(check.criterion)!r}"
            )
        if check.criterion in by_text:
            raise InvalidArgument(
                "checklist", f"checks the acceptance criterion {_clip(check.criterion)!r} twice"
            )
        by_text[check.criterion] = check
    missing = [c for c in criteria if c not in by_text]
    if missing:
        named = ", ".join(repr(_clip(c)) for c in missing)
        raise InvalidArgument("checklist", f"has no check for the acceptance criteria {named}")
    return tuple(by_text[c] for c in criteria)


def _clip(text: str, limit: int = 80) -> str:
    """Criterion text short enough for an error message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Submission:
    number: int
    note: str
    links: tuple[str, ...]
    submit_time: datetime
    checklist: tuple[CriterionCheck, ...] = ()


@dataclass(frozen=True)
class Revision:
    submission_number: int
    reason: str
    request_time: datetime


@dataclass(frozen=True)
class Dispute:
    opened_by: Party
    opened_by_user_id: str
    reason: str
    open_time: datetime
    payout_percent: int = 0
    resolution: str = ""
    resolved_by_user_id: str = ""
    resolve_time: datetime | None = None


@dataclass(frozen=True)
class Feedback:
    author: Party
    author_id: str
    rating: int
    text: str
    submit_time: datetime


@dataclass(frozen=True)
class CompletionClaim:
    """What the platform attests about accepted work; adapters sign it."""

    record_id: str
    engagement_id: str
    listing_id: str
    listing_title: str
    employer_org_id: str
    student_id: str
    skills: tuple[str, ...]
    estimated_hours: int
    complete_time: datetime
    issue_time: datetime
    outcome: Outcome = Outcome.APPROVED
    payout_percent: int = 100
    start_time: datetime | None = None
    due_date: datetime | None = None


@dataclass
class Engagement:
    id: str
    application_id: str
    listing_id: str
    listing_title: str
    employer_org_id: str
    student_id: str
    fee: Money
    due_date: datetime
    revision_limit: int
    start_time: datetime
    update_time: datetime
    skills: tuple[str, ...] = ()
    estimated_hours: int = 0
    # Copied from the listing at the start: what the seat agreed to, whatever the listing
    # later says.
    acceptance_criteria: tuple[str, ...] = ()
    status: EngagementStatus = E.ACTIVE
    version: int = 1
    submissions: tuple[Submission, ...] = ()
    revisions: tuple[Revision, ...] = ()
    dispute: Dispute | None = None
    feedback: tuple[Feedback, ...] = ()
    feedback_published: bool = False
    feedback_due: datetime | None = None
    cancellation_reason: str = ""
    payout_percent: int = 0
    deadline: datetime | None = None
    complete_time: datetime | None = None
    completion_record_id: str = ""
    # When the work was accepted; the feedback window and the completion record start here.
    accept_time: datetime | None = None
    outcome: Outcome | None = None
    # The feedback window ended (its timer fired), whether or not anything was published.
    feedback_closed: bool = False
    events: list[e.EngagementEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(
        cls,
        *,
        engagement_id: str,
        application: Application,
        listing: ListingSnapshot,
        policy: Policy,
        now: datetime,
    ) -> Engagement:
        engagement = cls(
            id=engagement_id,
            application_id=application.id,
            listing_id=listing.id,
            listing_title=listing.title,
            employer_org_id=listing.employer_org_id,
            student_id=application.student_id,
            fee=listing.fee,
            due_date=listing.due_date,
            revision_limit=policy.revision_limit,
            start_time=now,
            update_time=now,
            skills=listing.skills,
            estimated_hours=listing.estimated_hours,
            acceptance_criteria=listing.acceptance_criteria,
            deadline=listing.due_date + policy.engagement_grace,
        )
        engagement.events.append(e.EngagementStarted(engagement_id))
        return engagement

    @property
    def revisions_remaining(self) -> int:
        return max(0, self.revision_limit - len(self.revisions))

    @property
    def holds_seat(self) -> bool:
        return self.status in HOLDING_SEAT

    def party_of(self, user_id: str, org: str | None) -> Party | None:
        if user_id and user_id == self.student_id:
            return Party.STUDENT
        if org is not None and org == self.employer_org_id:
            return Party.EMPLOYER
        return None

    def visible_feedback(self, viewer: Party | None) -> tuple[Feedback, ...]:
        """Double-blind: all of it once published, otherwise only the viewer's own."""
        if self.feedback_published:
            return self.feedback
        return tuple(f for f in self.feedback if viewer is not None and f.author is viewer)

    def wanted_timers(self) -> dict[str, datetime]:
        """Timers this state needs; any other stored timer is cancelled on save."""
        timers: dict[str, datetime] = {}
        if self.deadline is not None and self.status is E.ACTIVE:
            timers[EXPIRE_TIMER] = self.deadline
        if self.deadline is not None and self.status is E.SUBMITTED:
            timers[AUTO_APPROVE_TIMER] = self.deadline
        if self.deadline is not None and self.status is E.REVISION_REQUESTED:
            timers[REVISION_LAPSE_TIMER] = self.deadline
        if self.feedback_open:
            assert self.feedback_due is not None
            timers[PUBLISH_FEEDBACK_TIMER] = self.feedback_due
        return timers

    @property
    def feedback_open(self) -> bool:
        """The feedback window runs: the work was accepted, not everything is published and
        the window's end has not been processed."""
        return (
            self.feedback_due is not None
            and not self.feedback_published
            and not self.feedback_closed
        )

    def _require(self, allowed: frozenset[EngagementStatus], action: str) -> None:
        if self.status not in allowed:
            raise FailedPrecondition(f"cannot {action} an engagement that is {self.status.value}")

    def _move(self, status: EngagementStatus, now: datetime, event: e.EngagementEvent) -> None:
        self.status = status
        self.update_time = now
        self.deadline = None
        self.events.append(event)

    def submit(
        self,
        note: str,
        links: tuple[str, ...],
        checklist: tuple[CriterionCheck, ...],
        policy: Policy,
        now: datetime,
    ) -> None:
        """Hand in the work with a check of every acceptance criterion (check_checklist)."""
        self._require(frozenset({E.ACTIVE, E.REVISION_REQUESTED}), "submit a deliverable on")
        check_text("note", note, MAX_LONG_TEXT, required=True)
        check_links("links", links)
        checks = check_checklist(self.acceptance_criteria, checklist)
        number = len(self.submissions) + 1
        self.submissions = (*self.submissions, Submission(number, note, links, now, checks))
        self._move(E.SUBMITTED, now, e.DeliverableSubmitted(self.id, number))
        self.deadline = now + policy.auto_approve_after

    def request_revision(self, reason: str, now: datetime, policy: Policy = DEFAULT_POLICY) -> None:
        self._require(frozenset({E.SUBMITTED}), "request a revision on")
        check_text("reason", reason, MAX_LONG_TEXT, required=True)
        if self.revisions_remaining == 0:
            raise FailedPrecondition(
                f"cannot request a revision on a SUBMITTED engagement: all {self.revision_limit} "
                "revision requests are used (approve it or open a dispute)"
            )
        number = len(self.submissions)
        self.revisions = (*self.revisions, Revision(number, reason, now))
        self._move(E.REVISION_REQUESTED, now, e.RevisionRequested(self.id, number))
        self.deadline = now + policy.revision_window

    def _accepted(self, outcome: Outcome, record_id: str, policy: Policy, now: datetime) -> None:
        """The work is accepted: the feedback window opens and, for a share > 0, a completion
        record is issued (independent of payment). Handlers pass a fresh random record id."""
        self.accept_time = now
        self.outcome = outcome
        self.feedback_due = now + policy.feedback_window
        if self.payout_percent > 0:
            self.completion_record_id = record_id or f"cr-{self.id}"

    def approve(self, now: datetime, record_id: str = "", policy: Policy = DEFAULT_POLICY) -> None:
        self._require(frozenset({E.SUBMITTED}), "approve")
        self.payout_percent = 100
        self._move(E.APPROVED, now, e.DeliverableApproved(self.id, auto_approved=False))
        self._accepted(Outcome.APPROVED, record_id, policy, now)

    def auto_approve(
        self, now: datetime, record_id: str = "", policy: Policy = DEFAULT_POLICY
    ) -> None:
        self._require(frozenset({E.SUBMITTED}), "auto-approve")
        if self.deadline is None or now < self.deadline:
            raise FailedPrecondition("cannot auto-approve a submission before its review time ends")
        self.payout_percent = 100
        self._move(E.AUTO_APPROVED, now, e.DeliverableApproved(self.id, auto_approved=True))
        self._accepted(Outcome.AUTO_APPROVED, record_id, policy, now)

    def cancel(self, reason: str, now: datetime) -> None:
        """The employer ends it before any submission; the seat is freed."""
        self._require(frozenset({E.ACTIVE}), "cancel")
        check_text("reason", reason, MAX_REASON, required=True)
        self.cancellation_reason = reason
        self._move(E.CANCELLED, now, e.EngagementCancelled(self.id, reason))

    def expire(self, now: datetime) -> None:
        self._require(frozenset({E.ACTIVE}), "expire")
        if self.deadline is None or now < self.deadline:
            raise FailedPrecondition("cannot expire an engagement before its due date and grace")
        self._move(E.EXPIRED, now, e.EngagementExpired(self.id))

    def open_dispute(self, party: Party, user_id: str, reason: str, now: datetime) -> None:
        """The student may dispute a pending review, the employer once revisions are used up;
        either side while a revision is requested (the student disagrees with the request, or
        the employer sees no resubmission coming)."""
        self._require(DISPUTABLE, "open a dispute on")
        check_text("reason", reason, MAX_LONG_TEXT, required=True)
        if party is Party.EMPLOYER and self.status is E.SUBMITTED and self.revisions_remaining > 0:
            raise FailedPrecondition(
                "cannot open a dispute on a SUBMITTED engagement while revision requests remain"
            )
        self.dispute = Dispute(party, user_id, reason, now)
        self._move(E.DISPUTED, now, e.DisputeOpened(self.id))

    def revision_lapsed(self, now: datetime) -> None:
        """No resubmission within the revision window: the platform opens the dispute."""
        self._require(frozenset({E.REVISION_REQUESTED}), "lapse the revision of")
        if self.deadline is None or now < self.deadline:
            raise FailedPrecondition("cannot lapse a revision before its window ends")
        self.dispute = Dispute(Party.PLATFORM, "", REVISION_NOT_DELIVERED, now)
        self._move(E.DISPUTED, now, e.DisputeOpened(self.id))

    def resolve_dispute(
        self,
        admin_id: str,
        percent: int,
        resolution: str,
        now: datetime,
        record_id: str = "",
        policy: Policy = DEFAULT_POLICY,
    ) -> None:
        self._require(frozenset({E.DISPUTED}), "resolve a dispute on")
        check_percent(percent)
        check_text("resolution", resolution, MAX_LONG_TEXT, required=True)
        assert self.dispute is not None
        self.dispute = Dispute(
            opened_by=self.dispute.opened_by,
            opened_by_user_id=self.dispute.opened_by_user_id,
            reason=self.dispute.reason,
            open_time=self.dispute.open_time,
            payout_percent=percent,
            resolution=resolution,
            resolved_by_user_id=admin_id,
            resolve_time=now,
        )
        self.payout_percent = percent
        self._move(E.RESOLVED, now, e.DisputeResolved(self.id, percent))
        self._accepted(Outcome.RESOLVED, record_id, policy, now)

    def leave_feedback(
        self, party: Party, author_id: str, rating: int, text: str, policy: Policy, now: datetime
    ) -> None:
        """Within the window from acceptance; both in publishes at once (double-blind)."""
        self._require(FEEDBACK_OPEN, "leave feedback on")
        check_rating(rating)
        check_text("text", text, MAX_FEEDBACK_TEXT, required=False)
        if (
            self.feedback_published
            or self.feedback_closed
            or (self.feedback_due is not None and now >= self.feedback_due)
        ):
            raise FailedPrecondition("cannot leave feedback after the feedback window closed")
        if any(f.author is party for f in self.feedback):
            raise FailedPrecondition(
                f"cannot leave feedback twice: the {party.value.lower()} side already did"
            )
        self.feedback = (*self.feedback, Feedback(party, author_id, rating, text, now))
        self.update_time = now
        if self.feedback_due is None:
            # Accepted before the window started at acceptance (stored by an older version).
            self.feedback_due = now + policy.feedback_window
        if {f.author for f in self.feedback} == SIDES:
            self._publish_feedback(now)

    def publish_feedback(self, now: datetime) -> None:
        """The window from acceptance ended: publish what is in (nothing to publish if neither
        side wrote) and refuse feedback from now on."""
        if not self.feedback_open or self.feedback_due is None:
            raise FailedPrecondition("cannot close a feedback window that is not open")
        if now < self.feedback_due:
            raise FailedPrecondition("cannot publish feedback before its window ends")
        self.feedback_closed = True
        self.update_time = now
        if self.feedback:
            self._publish_feedback(now)

    def _publish_feedback(self, now: datetime) -> None:
        self.feedback_published = True
        self.update_time = now
        self.events.append(e.FeedbackPublished(self.id))

    def mark_paid(self, completion_record_id: str, now: datetime) -> bool:
        """The payout was paid; False when this was already recorded (a redelivery). The record
        issued at acceptance keeps its id; `completion_record_id` is only used for work
        accepted before records were issued at acceptance."""
        if self.status is E.PAID:
            return False
        self._require(PAYABLE, "mark paid")
        self.complete_time = now
        self.completion_record_id = self.completion_record_id or completion_record_id
        self._move(E.PAID, now, e.EngagementCompleted(self.id, self.completion_record_id))
        return True

    def completion_claim(self) -> CompletionClaim:
        """The claim of the record issued at acceptance (APPROVED, AUTO_APPROVED, RESOLVED with
        a share > 0, and PAID after any of those)."""
        accepted = self.accept_time or self.complete_time
        if not self.completion_record_id or accepted is None:
            raise FailedPrecondition(
                f"cannot issue a completion record for an engagement that is {self.status.value}"
                + (" with no share of the fee" if self.status is E.RESOLVED else "")
            )
        return CompletionClaim(
            record_id=self.completion_record_id,
            engagement_id=self.id,
            listing_id=self.listing_id,
            listing_title=self.listing_title,
            employer_org_id=self.employer_org_id,
            student_id=self.student_id,
            skills=self.skills,
            estimated_hours=self.estimated_hours,
            complete_time=accepted,
            issue_time=accepted,
            # Engagements accepted before outcomes were recorded: a dispute means resolved.
            outcome=self.outcome
            or (Outcome.RESOLVED if self.dispute is not None else Outcome.APPROVED),
            payout_percent=self.payout_percent,
            start_time=self.start_time,
            due_date=self.due_date,
        )
