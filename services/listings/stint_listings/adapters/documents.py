"""How a listing is stored: the aggregate <-> its MongoDB document."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.timers import TIMERS, cancel_all_timers, set_timer

from stint_listings.domain.content import Deliverable, ListingContent, Money, ScreeningQuestion
from stint_listings.domain.model import Listing, ListingStatus

WORD = re.compile(r"\w+")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAR = datetime(2200, 1, 1, tzinfo=UTC)


def fee_key(amount_minor: int) -> datetime:
    """Later the higher the fee: the fee order is the runtime's newest-first keyset order."""
    return EPOCH + timedelta(milliseconds=amount_minor)


def deadline_key(deadline: datetime) -> datetime:
    """Later the sooner the application deadline."""
    return FAR - (deadline - EPOCH)


def search_terms(text: str) -> list[str]:
    """Lowercase words: SecantusDB has no $text index, so free text matches a term array."""
    return sorted(set(WORD.findall(text.lower())))


def _content_document(content: ListingContent) -> Document:
    return {
        "title": content.title,
        "description": content.description,
        "skills": list(content.skills),
        "industry": content.industry,
        "deliverables": [
            {
                "title": d.title,
                "description": d.description,
                "acceptance_criteria": list(d.acceptance_criteria),
            }
            for d in content.deliverables
        ],
        "estimated_hours": content.estimated_hours,
        "fee": {"amount_minor": content.fee.amount_minor, "currency": content.fee.currency},
        "seats": content.seats,
        "application_deadline": content.application_deadline,
        "due_date": content.due_date,
        "remote": content.remote,
        "location": content.location,
        "screening_questions": [
            {"id": q.id, "text": q.text, "required": q.required}
            for q in content.screening_questions
        ],
    }


def to_document(listing: Listing) -> Document:
    content = listing.content
    document: Document = {
        "_id": listing.id,
        "employer_org_id": listing.employer_org_id,
        "created_by": listing.created_by,
        "status": listing.status.value,
        "version": listing.version,
        "content": _content_document(content),
        "seat_holders": sorted(listing.seat_holders),
        "seat_waiting": list(listing.seat_waiting),
        "seats_filled": listing.seats_filled,
        "reviewed_by": listing.reviewed_by,
        "approve_time": listing.approve_time,
        "moderation_reason": listing.moderation_reason,
        "create_time": listing.create_time,
        "update_time": listing.update_time,
        "submit_time": listing.submit_time,
        "publish_time": listing.publish_time,
        "end_time": listing.end_time,
        # The search order: newest on the market first (drafts by creation).
        "listed_at": listing.publish_time or listing.create_time,
        "fee_key": fee_key(content.fee.amount_minor),
        "deadline_key": deadline_key(content.application_deadline),
        "search_terms": search_terms(
            " ".join([content.title, content.description, *content.skills])
        ),
        TIMERS: [],
    }
    cancel_all_timers(document)
    for name, due_at in listing.wanted_timers().items():
        set_timer(document, name, due_at)
    return document


def _content(document: dict[str, Any]) -> ListingContent:
    return ListingContent(
        title=document["title"],
        description=document["description"],
        skills=tuple(document["skills"]),
        industry=document["industry"],
        deliverables=tuple(
            Deliverable(d["title"], d["description"], tuple(d["acceptance_criteria"]))
            for d in document["deliverables"]
        ),
        estimated_hours=document["estimated_hours"],
        fee=Money(document["fee"]["amount_minor"], document["fee"]["currency"]),
        seats=document["seats"],
        application_deadline=document["application_deadline"],
        due_date=document["due_date"],
        remote=document["remote"],
        location=document["location"],
        screening_questions=tuple(
            ScreeningQuestion(q["id"], q["text"], q["required"])
            for q in document["screening_questions"]
        ),
    )


def from_document(document: Document) -> Listing:
    return Listing(
        id=document["_id"],
        employer_org_id=document["employer_org_id"],
        created_by=document["created_by"],
        content=_content(document["content"]),
        create_time=document["create_time"],
        update_time=document["update_time"],
        status=ListingStatus(document["status"]),
        version=document["version"],
        seat_holders=frozenset(document["seat_holders"]),
        # Documents written before engagements could wait have no such field.
        seat_waiting=tuple(document.get("seat_waiting", ())),
        reviewed_by=document["reviewed_by"],
        approve_time=document["approve_time"],
        moderation_reason=document["moderation_reason"],
        submit_time=document["submit_time"],
        publish_time=document["publish_time"],
        end_time=document["end_time"],
    )
