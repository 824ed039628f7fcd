"""How the aggregates are stored: each <-> its MongoDB document (timers inside it).

Fields added after the first release (acceptance criteria, checklists) read as empty from
documents written before them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.timers import TIMERS, set_timer
from stint_runtime.values import Money

from stint_applications.domain.application import (
    ACTIVE,
    Application,
    ApplicationStatus,
    ListingTerms,
    ScreeningAnswer,
)
from stint_applications.domain.engagement import (
    CriterionCheck,
    Dispute,
    Engagement,
    EngagementStatus,
    Feedback,
    Outcome,
    Party,
    Revision,
    Submission,
)
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import ListingSnapshot, ListingStatus, ScreeningQuestion
from stint_applications.domain.messages import Message, Thread
from stint_applications.domain.seats import Seats

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR = datetime(2200, 1, 1, tzinfo=UTC)


def deadline_key(timers: dict[str, datetime]) -> datetime:
    """A time that is LATER the SOONER the aggregate's next timer fires, so the runtime's
    newest-first keyset pages list the soonest deadline first; nothing pending sorts last."""
    if not timers:
        return EPOCH
    return FAR - (min(timers.values()) - EPOCH)


def _money(value: Money) -> Document:
    return {"amount_minor": value.amount_minor, "currency": value.currency}


def _money_from(document: Document) -> Money:
    return Money(document["amount_minor"], document["currency"])


def _with_timers(document: Document, timers: dict[str, Any]) -> Document:
    document[TIMERS] = []
    for name, due_at in timers.items():
        set_timer(document, name, due_at)
    return document


def active_key(application: Application) -> str:
    """Unique among applications: the same for a student's ACTIVE ones on one listing (so two
    cannot coexist), the application's own id once it ended (so re-applying is possible)."""
    if application.status in ACTIVE:
        return f"{application.listing_id}/{application.student_id}"
    return application.id


def _terms(terms: ListingTerms | None) -> Document | None:
    if terms is None:
        return None
    return {
        "title": terms.title,
        "employer_org_id": terms.employer_org_id,
        "fee": _money(terms.fee),
        "estimated_hours": terms.estimated_hours,
        "application_deadline": terms.application_deadline,
        "due_date": terms.due_date,
    }


def _terms_from(document: Document | None) -> ListingTerms | None:
    if document is None:
        return None
    return ListingTerms(
        title=document["title"],
        employer_org_id=document["employer_org_id"],
        fee=_money_from(document["fee"]),
        estimated_hours=document["estimated_hours"],
        application_deadline=document["application_deadline"],
        due_date=document["due_date"],
    )


def application_document(application: Application) -> Document:
    return _with_timers(
        {
            "active_key": active_key(application),
            "deadline_key": deadline_key(application.wanted_timers()),
            "terms": _terms(application.terms),
            "invited": application.invited,
            "respond_by": application.respond_by,
            "_id": application.id,
            "listing_id": application.listing_id,
            "employer_org_id": application.employer_org_id,
            "student_id": application.student_id,
            "cover_letter": application.cover_letter,
            "answers": [
                {"question_id": a.question_id, "answer": a.answer} for a in application.answers
            ],
            "status": application.status.value,
            "version": application.version,
            "reason": application.reason,
            "offer_message": application.offer_message,
            "engagement_id": application.engagement_id,
            "decide_by": application.decide_by,
            "create_time": application.create_time,
            "update_time": application.update_time,
        },
        application.wanted_timers(),
    )


def application_from(document: Document) -> Application:
    return Application(
        id=document["_id"],
        listing_id=document["listing_id"],
        employer_org_id=document["employer_org_id"],
        student_id=document["student_id"],
        cover_letter=document["cover_letter"],
        answers=tuple(ScreeningAnswer(a["question_id"], a["answer"]) for a in document["answers"]),
        status=ApplicationStatus(document["status"]),
        version=document["version"],
        reason=document["reason"],
        offer_message=document["offer_message"],
        engagement_id=document["engagement_id"],
        decide_by=document["decide_by"],
        create_time=document["create_time"],
        update_time=document["update_time"],
        terms=_terms_from(document.get("terms")),
        invited=document.get("invited", False),
        respond_by=document.get("respond_by"),
    )


def _dispute(dispute: Dispute | None) -> Document | None:
    if dispute is None:
        return None
    return {
        "opened_by": dispute.opened_by.value,
        "opened_by_user_id": dispute.opened_by_user_id,
        "reason": dispute.reason,
        "open_time": dispute.open_time,
        "payout_percent": dispute.payout_percent,
        "resolution": dispute.resolution,
        "resolved_by_user_id": dispute.resolved_by_user_id,
        "resolve_time": dispute.resolve_time,
    }


def _dispute_from(document: Document | None) -> Dispute | None:
    if document is None:
        return None
    return Dispute(
        opened_by=Party(document["opened_by"]),
        opened_by_user_id=document["opened_by_user_id"],
        reason=document["reason"],
        open_time=document["open_time"],
        payout_percent=document["payout_percent"],
        resolution=document["resolution"],
        resolved_by_user_id=document["resolved_by_user_id"],
        resolve_time=document["resolve_time"],
    )


def engagement_document(engagement: Engagement) -> Document:
    return _with_timers(
        {
            "_id": engagement.id,
            "application_id": engagement.application_id,
            "listing_id": engagement.listing_id,
            "listing_title": engagement.listing_title,
            "employer_org_id": engagement.employer_org_id,
            "student_id": engagement.student_id,
            "fee": _money(engagement.fee),
            "due_date": engagement.due_date,
            "revision_limit": engagement.revision_limit,
            "skills": list(engagement.skills),
            "estimated_hours": engagement.estimated_hours,
            "acceptance_criteria": list(engagement.acceptance_criteria),
            "status": engagement.status.value,
            "version": engagement.version,
            "submissions": [
                {
                    "number": s.number,
                    "note": s.note,
                    "links": list(s.links),
                    "submit_time": s.submit_time,
                    "checklist": [
                        {"criterion": k.criterion, "met": k.met, "comment": k.comment}
                        for k in s.checklist
                    ],
                }
                for s in engagement.submissions
            ],
            "revisions": [
                {
                    "submission_number": r.submission_number,
                    "reason": r.reason,
                    "request_time": r.request_time,
                }
                for r in engagement.revisions
            ],
            "dispute": _dispute(engagement.dispute),
            "feedback": [
                {
                    "author": f.author.value,
                    "author_id": f.author_id,
                    "rating": f.rating,
                    "text": f.text,
                    "submit_time": f.submit_time,
                }
                for f in engagement.feedback
            ],
            "feedback_published": engagement.feedback_published,
            "feedback_due": engagement.feedback_due,
            "cancellation_reason": engagement.cancellation_reason,
            "payout_percent": engagement.payout_percent,
            "deadline": engagement.deadline,
            "start_time": engagement.start_time,
            "update_time": engagement.update_time,
            "complete_time": engagement.complete_time,
            "completion_record_id": engagement.completion_record_id,
            "accept_time": engagement.accept_time,
            "deadline_key": deadline_key(engagement.wanted_timers()),
            "outcome": engagement.outcome.value if engagement.outcome else None,
            "feedback_closed": engagement.feedback_closed,
        },
        engagement.wanted_timers(),
    )


def engagement_from(document: Document) -> Engagement:
    return Engagement(
        id=document["_id"],
        application_id=document["application_id"],
        listing_id=document["listing_id"],
        listing_title=document["listing_title"],
        employer_org_id=document["employer_org_id"],
        student_id=document["student_id"],
        fee=_money_from(document["fee"]),
        due_date=document["due_date"],
        revision_limit=document["revision_limit"],
        skills=tuple(document["skills"]),
        estimated_hours=document["estimated_hours"],
        acceptance_criteria=tuple(document.get("acceptance_criteria", ())),
        status=EngagementStatus(document["status"]),
        version=document["version"],
        submissions=tuple(
            Submission(
                s["number"],
                s["note"],
                tuple(s["links"]),
                s["submit_time"],
                tuple(
                    CriterionCheck(k["criterion"], k["met"], k["comment"])
                    for k in s.get("checklist", ())
                ),
            )
            for s in document["submissions"]
        ),
        revisions=tuple(
            Revision(r["submission_number"], r["reason"], r["request_time"])
            for r in document["revisions"]
        ),
        dispute=_dispute_from(document["dispute"]),
        feedback=tuple(
            Feedback(Party(f["author"]), f["author_id"], f["rating"], f["text"], f["submit_time"])
            for f in document["feedback"]
        ),
        feedback_published=document["feedback_published"],
        feedback_due=document["feedback_due"],
        cancellation_reason=document["cancellation_reason"],
        payout_percent=document["payout_percent"],
        deadline=document["deadline"],
        start_time=document["start_time"],
        update_time=document["update_time"],
        complete_time=document["complete_time"],
        completion_record_id=document["completion_record_id"],
        accept_time=document.get("accept_time"),
        outcome=Outcome(document["outcome"]) if document.get("outcome") else None,
        feedback_closed=document.get("feedback_closed", False),
    )


def listing_document(listing: ListingSnapshot) -> Document:
    return {
        "_id": listing.id,
        "employer_org_id": listing.employer_org_id,
        "status": listing.status.value,
        "title": listing.title,
        "fee": _money(listing.fee),
        "seats": listing.seats,
        "application_deadline": listing.application_deadline,
        "due_date": listing.due_date,
        "version": listing.version,
        "screening_questions": [
            {"id": q.id, "text": q.text, "required": q.required}
            for q in listing.screening_questions
        ],
        "skills": list(listing.skills),
        "estimated_hours": listing.estimated_hours,
        "acceptance_criteria": list(listing.acceptance_criteria),
    }


def listing_from(document: Document) -> ListingSnapshot:
    return ListingSnapshot(
        id=document["_id"],
        employer_org_id=document["employer_org_id"],
        status=ListingStatus(document["status"]),
        title=document["title"],
        fee=_money_from(document["fee"]),
        seats=document["seats"],
        application_deadline=document["application_deadline"],
        due_date=document["due_date"],
        version=document["version"],
        screening_questions=tuple(
            ScreeningQuestion(q["id"], q["text"], q["required"])
            for q in document["screening_questions"]
        ),
        skills=tuple(document["skills"]),
        estimated_hours=document["estimated_hours"],
        acceptance_criteria=tuple(document.get("acceptance_criteria", ())),
    )


def seats_document(seats: Seats) -> Document:
    return {
        "_id": seats.listing_id,
        "holders": sorted(seats.holders),
        "taken": len(seats.holders),
        "version": seats.version,
    }


def seats_from(document: Document) -> Seats:
    return Seats(
        listing_id=document["_id"],
        holders=frozenset(document["holders"]),
        version=document["version"],
    )


def message_document(message: Message) -> Document:
    thread = message.thread
    return {
        "_id": message.id,
        "thread_id": thread.id,
        "application_id": thread.application_id,
        "engagement_id": thread.engagement_id,
        "listing_id": thread.listing_id,
        "employer_org_id": thread.employer_org_id,
        "student_id": thread.student_id,
        "author": message.author.value,
        "author_id": message.author_id,
        "text": message.text,
        "links": list(message.links),
        "create_time": message.create_time,
    }


def message_from(document: Document) -> Message:
    thread = Thread(
        document["application_id"],
        document["engagement_id"],
        document["listing_id"],
        document["employer_org_id"],
        document["student_id"],
    )
    return Message(
        id=document["_id"],
        thread=thread,
        author=Party(document["author"]),
        author_id=document["author_id"],
        text=document["text"],
        links=tuple(document["links"]),
        create_time=document["create_time"],
    )


def invitation_key(listing_id: str, student_id: str) -> str:
    return f"{listing_id}/{student_id}"


def invitation_document(invitation: Invitation) -> Document:
    return {
        "_id": invitation.id,
        "key": invitation_key(invitation.listing_id, invitation.student_id),
        "listing_id": invitation.listing_id,
        "employer_org_id": invitation.employer_org_id,
        "student_id": invitation.student_id,
        "invited_by": invitation.invited_by,
        "create_time": invitation.create_time,
    }


def invitation_from(document: Document) -> Invitation:
    return Invitation(
        id=document["_id"],
        listing_id=document["listing_id"],
        employer_org_id=document["employer_org_id"],
        student_id=document["student_id"],
        invited_by=document["invited_by"],
        create_time=document["create_time"],
    )
