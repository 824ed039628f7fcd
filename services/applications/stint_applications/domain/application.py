"""The Application aggregate: a student's application to one listing (DESIGN.md §2).

Response SLA (no ghosting): entering SUBMITTED or SHORTLISTED starts a `respond` timer of
`Policy.response_sla`; each of those entries restarts it (the employer's last move counts).
Deciding (offer or reject) cancels it. OFFERED has its own `offer_lapse` timer of
`Policy.offer_window` from the offer: unanswered, the application is EXPIRED ("offer lapsed").
An offer survives the listing closing, expiring or filling (accepted while a seat is free); only
a cancelled listing withdraws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from stint_runtime.errors import FailedPrecondition, InvalidArgument
from stint_runtime.values import Money

from stint_applications.domain import events as e
from stint_applications.domain.listing import CLOSING_REASONS, ListingSnapshot, ListingStatus
from stint_applications.domain.rules import (
    MAX_ANSWER,
    MAX_ANSWERS,
    MAX_COVER_LETTER,
    MAX_LONG_TEXT,
    MAX_REASON,
    Policy,
    check_text,
)

DEFAULT_OFFER_WINDOW = timedelta(days=3)
RESPOND_TIMER = "respond"
OFFER_LAPSE_TIMER = "offer_lapse"
EXPIRED_REASON = "the employer made no decision within the response time"
OFFER_LAPSED = "offer lapsed"


class ApplicationStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    SHORTLISTED = "SHORTLISTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"


A = ApplicationStatus
# Still waiting for someone; a closing listing rejects these.
UNDECIDED = frozenset({A.SUBMITTED, A.SHORTLISTED, A.OFFERED})
AWAITING_EMPLOYER = frozenset({A.SUBMITTED, A.SHORTLISTED})
# A student has at most one of these per listing at a time.
ACTIVE = UNDECIDED | {A.ACCEPTED}


@dataclass(frozen=True)
class ListingTerms:
    """The listing's key terms when the student applied (shown on "my applications")."""

    title: str
    employer_org_id: str
    fee: Money
    estimated_hours: int
    application_deadline: datetime
    due_date: datetime

    @classmethod
    def of(cls, listing: ListingSnapshot) -> ListingTerms:
        return cls(
            title=listing.title,
            employer_org_id=listing.employer_org_id,
            fee=listing.fee,
            estimated_hours=listing.estimated_hours,
            application_deadline=listing.application_deadline,
            due_date=listing.due_date,
        )


@dataclass(frozen=True)
class ScreeningAnswer:
    question_id: str
    answer: str


def check_answers(listing: ListingSnapshot, answers: tuple[ScreeningAnswer, ...]) -> None:
    """One non-empty answer per asked question, every required question answered."""
    if len(answers) > MAX_ANSWERS:
        raise InvalidArgument("answers", f"allows at most {MAX_ANSWERS} items")
    asked = {q.id for q in listing.screening_questions}
    seen: set[str] = set()
    for i, answer in enumerate(answers):
        if answer.question_id not in asked:
            raise InvalidArgument(
                f"answers[{i}].question_id", f"the listing asks no question {answer.question_id!r}"
            )
        if answer.question_id in seen:
            raise InvalidArgument(
                f"answers[{i}].question_id", f"answers {answer.question_id!r} twice"
            )
        seen.add(answer.question_id)
        check_text(f"answers[{i}].answer", answer.answer, MAX_ANSWER, required=True)
    for question in listing.screening_questions:
        if question.required and question.id not in seen:
            raise InvalidArgument("answers", f"the required question {question.id!r} is unanswered")


@dataclass
class Application:
    id: str
    listing_id: str
    employer_org_id: str
    student_id: str
    cover_letter: str
    answers: tuple[ScreeningAnswer, ...]
    create_time: datetime
    update_time: datetime
    status: ApplicationStatus = A.SUBMITTED
    version: int = 1
    reason: str = ""
    offer_message: str = ""
    engagement_id: str = ""
    decide_by: datetime | None = None
    terms: ListingTerms | None = None
    # The employer invited the student to apply (InviteStudent): it started SHORTLISTED.
    invited: bool = False
    # While OFFERED: when the offer lapses.
    respond_by: datetime | None = None
    events: list[e.ApplicationEvent] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def submit(
        cls,
        *,
        application_id: str,
        listing: ListingSnapshot,
        student_id: str,
        cover_letter: str,
        answers: tuple[ScreeningAnswer, ...],
        policy: Policy,
        now: datetime,
        invited: bool = False,
    ) -> Application:
        """A new application; an invited student's starts SHORTLISTED (still one event)."""
        if not listing.open_for_applications(now):
            state = listing.status.value
            if listing.status.value == "PUBLISHED":
                state = "past its application deadline"
            raise FailedPrecondition(f"cannot apply to a listing that is {state}")
        check_text("cover_letter", cover_letter, MAX_COVER_LETTER, required=False)
        check_answers(listing, answers)
        application = cls(
            id=application_id,
            listing_id=listing.id,
            employer_org_id=listing.employer_org_id,
            student_id=student_id,
            cover_letter=cover_letter,
            answers=answers,
            create_time=now,
            update_time=now,
            decide_by=now + policy.response_sla,
            terms=ListingTerms.of(listing),
            invited=invited,
            status=A.SHORTLISTED if invited else A.SUBMITTED,
        )
        application.events.append(e.ApplicationSubmitted(application_id))
        return application

    @property
    def may_reapply_after(self) -> bool:
        """Ended in a way that lets the student apply to the listing again (once it is open):
        withdrawn, expired (either clock), or rejected because the listing filled."""
        return self.status in {A.WITHDRAWN, A.EXPIRED} or (
            self.status is A.REJECTED and self.reason == CLOSING_REASONS[ListingStatus.FILLED]
        )

    def wanted_timers(self) -> dict[str, datetime]:
        """Timers this state needs; any other stored timer is cancelled on save."""
        if self.status in AWAITING_EMPLOYER and self.decide_by is not None:
            return {RESPOND_TIMER: self.decide_by}
        if self.status is A.OFFERED and self.respond_by is not None:
            return {OFFER_LAPSE_TIMER: self.respond_by}
        return {}

    def _require(self, allowed: frozenset[ApplicationStatus], action: str) -> None:
        if self.status not in allowed:
            raise FailedPrecondition(f"cannot {action} an application that is {self.status.value}")

    def _move(self, status: ApplicationStatus, now: datetime, event: e.ApplicationEvent) -> None:
        self.status = status
        self.update_time = now
        if status not in AWAITING_EMPLOYER:
            self.decide_by = None
        if status is not A.OFFERED:
            self.respond_by = None
        self.events.append(event)

    def shortlist(self, policy: Policy, now: datetime) -> None:
        self._require(frozenset({A.SUBMITTED}), "shortlist")
        self._move(A.SHORTLISTED, now, e.ApplicationShortlisted(self.id))
        self.decide_by = now + policy.response_sla

    def extend_offer(
        self, message: str, now: datetime, offer_window: timedelta = DEFAULT_OFFER_WINDOW
    ) -> None:
        """From SUBMITTED (a clear fit needs no shortlist) or SHORTLISTED."""
        self._require(AWAITING_EMPLOYER, "extend an offer on")
        check_text("message", message, MAX_LONG_TEXT, required=False)
        self.offer_message = message
        self._move(A.OFFERED, now, e.OfferExtended(self.id))
        self.respond_by = now + offer_window

    def accept(self, engagement_id: str, now: datetime) -> None:
        self._require(frozenset({A.OFFERED}), "accept the offer of")
        if self.respond_by is not None and now >= self.respond_by:
            raise FailedPrecondition("cannot accept an offer that lapsed")
        self.engagement_id = engagement_id
        self._move(A.ACCEPTED, now, e.OfferAccepted(self.id, engagement_id))

    def decline(self, reason: str, now: datetime) -> None:
        self._require(frozenset({A.OFFERED}), "decline the offer of")
        check_text("reason", reason, MAX_REASON, required=False)
        self.reason = reason
        self._move(A.DECLINED, now, e.OfferDeclined(self.id))

    def reject(self, reason: str, now: datetime) -> None:
        """By the employer (an offer may be withdrawn too) or because the listing closed."""
        self._require(UNDECIDED, "reject")
        check_text("reason", reason, MAX_REASON, required=True)
        self.reason = reason
        self._move(A.REJECTED, now, e.ApplicationRejected(self.id, reason))

    def withdraw(self, reason: str, now: datetime) -> None:
        """The student steps back before an offer; an offer is declined instead."""
        self._require(AWAITING_EMPLOYER, "withdraw")
        check_text("reason", reason, MAX_REASON, required=False)
        self.reason = reason
        self._move(A.WITHDRAWN, now, e.ApplicationWithdrawn(self.id))

    def lapse_offer(self, now: datetime) -> None:
        """The student did not answer the offer in time; no seat was taken."""
        self._require(frozenset({A.OFFERED}), "lapse the offer of")
        if self.respond_by is None or now < self.respond_by:
            raise FailedPrecondition("cannot lapse an offer before its response window ends")
        self.reason = OFFER_LAPSED
        self._move(A.EXPIRED, now, e.ApplicationExpired(self.id))

    def expire(self, now: datetime) -> None:
        self._require(AWAITING_EMPLOYER, "expire")
        if self.decide_by is None or now < self.decide_by:
            raise FailedPrecondition("cannot expire an application before its response time ends")
        self.reason = EXPIRED_REASON
        self._move(A.EXPIRED, now, e.ApplicationExpired(self.id))
