"""The MongoDB repositories of one unit of work: state and `applications.v1` events commit
together, since saving an aggregate stages its events in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pymongo import ASCENDING
from pymongo.database import Database
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict
from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.pages import fetch_page, order
from stint_runtime.persistence.timers import ensure_timer_index
from stint_runtime.persistence.unit_of_work import UnitOfWork

from stint_applications.adapters import contracts
from stint_applications.adapters.documents import (
    application_document,
    application_from,
    engagement_document,
    engagement_from,
    invitation_document,
    invitation_from,
    invitation_key,
    listing_document,
    listing_from,
    message_document,
    message_from,
    seats_document,
    seats_from,
)
from stint_applications.domain.application import UNDECIDED, Application
from stint_applications.domain.engagement import Engagement
from stint_applications.domain.invitation import Invitation
from stint_applications.domain.listing import ListingSnapshot
from stint_applications.domain.messages import Message
from stint_applications.domain.queries import ApplicationFilter, EngagementFilter, ListOrder, Page
from stint_applications.domain.seats import Seats

APPLICATIONS = "applications"
ENGAGEMENTS = "engagements"
LISTINGS = "listing_snapshots"
SEATS = "seats"
MESSAGES = "messages"
INVITATIONS = "invitations"
DEADLINE = "deadline_key"

APPLICATION_ORDER = order("create_time")
ENGAGEMENT_ORDER = order("start_time")

T = TypeVar("T")


def ensure_indexes(db: Database[Document]) -> None:
    """The uniqueness rule, the list queries' filters and order, and the timers."""
    applications = db[APPLICATIONS]
    # Re-applying is allowed, so the old "one ever" index goes; one ACTIVE stays unique.
    if "one_per_student_and_listing" in applications.index_information():
        applications.drop_index("one_per_student_and_listing")
    applications.create_index("active_key", unique=True, name="one_active_per_student_and_listing")
    applications.create_index(
        [("listing_id", ASCENDING), ("student_id", ASCENDING)], name="student_and_listing"
    )
    applications.create_index([("listing_id", ASCENDING), ("status", ASCENDING)], name="listing")
    applications.create_index([("student_id", ASCENDING), *APPLICATION_ORDER], name="student")
    applications.create_index([("employer_org_id", ASCENDING), *APPLICATION_ORDER], name="org")
    applications.create_index(APPLICATION_ORDER, name="order")
    ensure_timer_index(applications)
    engagements = db[ENGAGEMENTS]
    engagements.create_index("application_id", unique=True, name="one_per_application")
    engagements.create_index("completion_record_id", name="completion_record")
    engagements.create_index([("listing_id", ASCENDING), *ENGAGEMENT_ORDER], name="listing")
    engagements.create_index([("student_id", ASCENDING), *ENGAGEMENT_ORDER], name="student")
    engagements.create_index([("employer_org_id", ASCENDING), *ENGAGEMENT_ORDER], name="org")
    engagements.create_index(ENGAGEMENT_ORDER, name="order")
    engagements.create_index([("student_id", ASCENDING), *order(DEADLINE)], name="student_due")
    engagements.create_index([("employer_org_id", ASCENDING), *order(DEADLINE)], name="org_due")
    ensure_timer_index(engagements)
    applications.create_index([("student_id", ASCENDING), *order(DEADLINE)], name="student_due")
    applications.create_index([("employer_org_id", ASCENDING), *order(DEADLINE)], name="org_due")
    db[MESSAGES].create_index([("thread_id", ASCENDING), *order("create_time")], name="thread")
    db[INVITATIONS].create_index("key", unique=True, name="one_per_listing_and_student")


def filter_document(query: ApplicationFilter | EngagementFilter) -> Document:
    clauses: list[Document] = []
    for name in ("employer_org_id", "student_id", "listing_id"):
        if value := getattr(query, name):
            clauses.append({name: value})
    if query.statuses:
        clauses.append({"status": {"$in": sorted(s.value for s in query.statuses)}})
    return {"$and": clauses} if clauses else {}


def _page(
    uow: UnitOfWork,
    collection: str,
    condition: Document,
    time_field: str,
    page_size: int,
    page_token: str,
    load: Callable[[Document], T],
) -> Page[T]:
    items, next_token = fetch_page(
        uow.db[collection],
        condition,
        time_field,
        page_size,
        page_token,
        session=uow.session,
        load=load,
    )
    return Page(items=items, next_page_token=next_token)


class MongoApplicationRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, application: Application) -> None:
        try:
            self.uow.insert(APPLICATIONS, application_document(application))
        except AlreadyExists:
            raise AlreadyExists(
                f"student {application.student_id} already applied to listing "
                f"{application.listing_id} and that application is still active"
            ) from None
        self._publish(application)

    def get(self, application_id: str) -> Application | None:
        document = self.uow.find_one(APPLICATIONS, {"_id": application_id})
        return None if document is None else application_from(document)

    def save(self, application: Application) -> None:
        application.version = self.uow.replace_if_version(
            APPLICATIONS, application_document(application), application.version
        )
        self._publish(application)

    def undecided_for_listing(self, listing_id: str) -> list[Application]:
        condition = {
            "listing_id": listing_id,
            "status": {"$in": sorted(s.value for s in UNDECIDED)},
        }
        documents = self.uow.db[APPLICATIONS].find(condition, session=self.uow.session)
        return [application_from(d) for d in documents.sort(APPLICATION_ORDER)]

    def student_applied_to_org(self, student_id: str, employer_org_id: str) -> bool:
        condition = {"student_id": student_id, "employer_org_id": employer_org_id}
        return self.uow.find_one(APPLICATIONS, condition) is not None

    def of_student_on_listing(self, listing_id: str, student_id: str) -> list[Application]:
        condition = {"listing_id": listing_id, "student_id": student_id}
        documents = self.uow.db[APPLICATIONS].find(condition, session=self.uow.session)
        return sorted((application_from(d) for d in documents), key=lambda a: a.create_time)

    def list(self, query: ApplicationFilter, page_size: int, page_token: str) -> Page[Application]:
        return _page(
            self.uow,
            APPLICATIONS,
            filter_document(query),
            DEADLINE if query.order is ListOrder.DEADLINE_SOONEST else "create_time",
            page_size,
            page_token,
            application_from,
        )

    def _publish(self, application: Application) -> None:
        for event in application.events:
            message = contracts.application_event(event, application)
            self.uow.emit(message, subject=application.id, sequence=application.version)
        application.events.clear()


class MongoEngagementRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, engagement: Engagement) -> None:
        self.uow.insert(ENGAGEMENTS, engagement_document(engagement))
        self._publish(engagement)

    def get(self, engagement_id: str) -> Engagement | None:
        document = self.uow.find_one(ENGAGEMENTS, {"_id": engagement_id})
        return None if document is None else engagement_from(document)

    def save(self, engagement: Engagement) -> None:
        engagement.version = self.uow.replace_if_version(
            ENGAGEMENTS, engagement_document(engagement), engagement.version
        )
        self._publish(engagement)

    def of_party(self, *, student_id: str = "", employer_org_id: str = "") -> list[Engagement]:
        condition = {"student_id": student_id} if student_id else {}
        if employer_org_id:
            condition["employer_org_id"] = employer_org_id
        if not condition:
            return []
        documents = self.uow.db[ENGAGEMENTS].find(condition, session=self.uow.session)
        return [engagement_from(d) for d in documents]

    def with_completion_record(self, record_id: str) -> Engagement | None:
        document = self.uow.find_one(ENGAGEMENTS, {"completion_record_id": record_id})
        return None if document is None else engagement_from(document)

    def list(self, query: EngagementFilter, page_size: int, page_token: str) -> Page[Engagement]:
        return _page(
            self.uow,
            ENGAGEMENTS,
            filter_document(query),
            DEADLINE if query.order is ListOrder.DEADLINE_SOONEST else "start_time",
            page_size,
            page_token,
            engagement_from,
        )

    def _publish(self, engagement: Engagement) -> None:
        for event in engagement.events:
            message = contracts.engagement_event(event, engagement)
            self.uow.emit(message, subject=engagement.id, sequence=engagement.version)
        engagement.events.clear()


class MongoMessageRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, message: Message) -> None:
        self.uow.insert(MESSAGES, message_document(message))
        self.uow.emit(contracts.message_posted(message), subject=message.id)

    def list(self, thread_id: str, page_size: int, page_token: str) -> Page[Message]:
        condition = {"thread_id": thread_id}
        return _page(
            self.uow, MESSAGES, condition, "create_time", page_size, page_token, message_from
        )


class MongoInvitationRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def add(self, invitation: Invitation) -> None:
        try:
            self.uow.insert(INVITATIONS, invitation_document(invitation))
        except AlreadyExists:
            raise AlreadyExists(
                f"student {invitation.student_id} is already invited to listing "
                f"{invitation.listing_id}"
            ) from None
        self.uow.emit(contracts.student_invited(invitation), subject=invitation.id)

    def get(self, listing_id: str, student_id: str) -> Invitation | None:
        document = self.uow.find_one(INVITATIONS, {"key": invitation_key(listing_id, student_id)})
        return None if document is None else invitation_from(document)


class MongoListingSnapshotRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def get(self, listing_id: str) -> ListingSnapshot | None:
        document = self.uow.find_one(LISTINGS, {"_id": listing_id})
        return None if document is None else listing_from(document)

    def put(self, snapshot: ListingSnapshot) -> None:
        self.uow.db[LISTINGS].replace_one(
            {"_id": snapshot.id}, listing_document(snapshot), upsert=True, session=self.uow.session
        )


class MongoSeatRepository:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def get(self, listing_id: str) -> Seats:
        document = self.uow.find_one(SEATS, {"_id": listing_id})
        return Seats(listing_id) if document is None else seats_from(document)

    def save(self, seats: Seats) -> None:
        if seats.version == 0:
            try:
                self.uow.insert(SEATS, {**seats_document(seats), "version": 1})
            except AlreadyExists:
                raise ConcurrencyConflict(f"seats of listing {seats.listing_id} changed") from None
            seats.version = 1
            return
        seats.version = self.uow.replace_if_version(SEATS, seats_document(seats), seats.version)


class MongoStore:
    """The repositories of one unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.applications = MongoApplicationRepository(uow)
        self.engagements = MongoEngagementRepository(uow)
        self.listings = MongoListingSnapshotRepository(uow)
        self.seats = MongoSeatRepository(uow)
        self.messages = MongoMessageRepository(uow)
        self.invitations = MongoInvitationRepository(uow)
