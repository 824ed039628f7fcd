"""Talking to a running listings service the way a gateway and the applications service do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from stint.applications.v1 import events_pb2 as applications_events
from stint.applications.v1 import resources_pb2 as applications_resources
from stint.common.v1 import money_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_runtime.clock import Clock
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import StintSettings

from tests.support.waiting import eventually

T = TypeVar("T")
Status = resources_pb2.ListingStatus
ORG_A = "org-a"
ORG_B = "org-b"
MUTATING = frozenset(
    {
        "CreateListing",
        "UpdateListing",
        "SubmitForReview",
        "ApproveListing",
        "RejectListing",
        "PublishListing",
        "CloseListing",
        "CancelListing",
    }
)


class Caller(Enum):
    OWNER = ("emp-a", "employer", ORG_A)
    OTHER_EMPLOYER = ("emp-b", "employer", ORG_B)
    STUDENT = ("stu-1", "student", None)
    ADMIN = ("adm-1", "admin", None)
    NOBODY = ("", None, None)


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def content(now: datetime, **changes: Any) -> resources_pb2.ListingContent:
    """Content that passes every posting rule when published at `now`; fields can be replaced."""
    fields: dict[str, Any] = {
        "title": "Build a React dashboard",
        "description": "Turn our sales spreadsheet into a small dashboard.",
        "skills": ["react", "typescript"],
        "industry": "retail",
        "deliverables": [
            resources_pb2.Deliverable(
                title="Dashboard",
                description="A deployed page",
                acceptance_criteria=["Loads in under 2s", "Shows totals"],
            )
        ],
        "estimated_hours": 10,
        "fee": money_pb2.Money(amount_minor=20_000, currency="USD"),
        "seats": 2,
        "application_deadline": _timestamp(now + timedelta(days=5)),
        "due_date": _timestamp(now + timedelta(days=20)),
        "remote": True,
        "location": "",
        "screening_questions": [
            resources_pb2.ScreeningQuestion(id="portfolio", text="Link your portfolio")
        ],
    }
    for name, value in changes.items():
        fields[name] = _timestamp(value) if isinstance(value, datetime) else value
    return resources_pb2.ListingContent(**fields)


@dataclass
class ListingsClient:
    """Calls the service as any caller; mutating calls get a fresh idempotency key each."""

    stub: service_pb2_grpc.ListingsServiceAsyncStub
    settings: StintSettings
    clock: Clock

    def metadata(self, caller: Caller, idempotency_key: str | None) -> tuple[tuple[str, str], ...]:
        subject, role, org = caller.value
        token = None
        if role is not None:
            token = mint_token(self.settings, sub=subject, role=_role(role), org=org)
        return call_metadata(token=token, idempotency_key=idempotency_key)

    async def call(
        self,
        method: str,
        request: Message,
        caller: Caller = Caller.OWNER,
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        """Call `method`; a mutating one gets `idempotency_key` or a fresh key."""
        if method in MUTATING and idempotency_key is None:
            idempotency_key = new_idempotency_key()
        rpc = getattr(self.stub, method)
        return await rpc(request, metadata=self.metadata(caller, idempotency_key), timeout=30)

    async def code_of(self, method: str, request: Message, caller: Caller) -> grpc.StatusCode:
        try:
            await self.call(method, request, caller)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    async def _listing(
        self, method: str, request: Message, caller: Caller = Caller.OWNER
    ) -> resources_pb2.Listing:
        listing: resources_pb2.Listing = (await self.call(method, request, caller)).listing
        return listing

    async def create(
        self, caller: Caller = Caller.OWNER, org: str = ORG_A, **changes: Any
    ) -> resources_pb2.Listing:
        request = service_pb2.CreateListingRequest(
            employer_org_id=org, content=content(self.clock.now(), **changes)
        )
        return await self._listing("CreateListing", request, caller)

    async def get(self, listing_id: str, caller: Caller = Caller.ADMIN) -> resources_pb2.Listing:
        request = service_pb2.GetListingRequest(listing_id=listing_id)
        return await self._listing("GetListing", request, caller)

    async def submit(
        self, listing: resources_pb2.Listing, caller: Caller = Caller.OWNER
    ) -> resources_pb2.Listing:
        request = service_pb2.SubmitForReviewRequest(
            listing_id=listing.id, expected_version=listing.version
        )
        return await self._listing("SubmitForReview", request, caller)

    async def approve(self, listing: resources_pb2.Listing) -> resources_pb2.Listing:
        request = service_pb2.ApproveListingRequest(
            listing_id=listing.id, expected_version=listing.version
        )
        return await self._listing("ApproveListing", request, Caller.ADMIN)

    async def reject(
        self, listing: resources_pb2.Listing, reason: str = "too vague"
    ) -> resources_pb2.Listing:
        request = service_pb2.RejectListingRequest(
            listing_id=listing.id, expected_version=listing.version, reason=reason
        )
        return await self._listing("RejectListing", request, Caller.ADMIN)

    async def publish(
        self, listing: resources_pb2.Listing, caller: Caller = Caller.OWNER
    ) -> resources_pb2.Listing:
        request = service_pb2.PublishListingRequest(
            listing_id=listing.id, expected_version=listing.version
        )
        return await self._listing("PublishListing", request, caller)

    async def close(
        self, listing: resources_pb2.Listing, caller: Caller = Caller.OWNER
    ) -> resources_pb2.Listing:
        request = service_pb2.CloseListingRequest(
            listing_id=listing.id, expected_version=listing.version, reason="enough applicants"
        )
        return await self._listing("CloseListing", request, caller)

    async def cancel(
        self, listing: resources_pb2.Listing, caller: Caller = Caller.OWNER
    ) -> resources_pb2.Listing:
        request = service_pb2.CancelListingRequest(
            listing_id=listing.id, expected_version=listing.version, reason="budget cut"
        )
        return await self._listing("CancelListing", request, caller)

    async def pending(self, *, approved: bool = False, **changes: Any) -> resources_pb2.Listing:
        listing = await self.submit(await self.create(**changes))
        return await self.approve(listing) if approved else listing

    async def published(self, **changes: Any) -> resources_pb2.Listing:
        return await self.publish(await self.pending(approved=True, **changes))

    async def search(
        self, caller: Caller = Caller.STUDENT, **fields: Any
    ) -> service_pb2.SearchListingsResponse:
        fields.setdefault("page_size", 100)
        request = service_pb2.SearchListingsRequest(**fields)
        response: service_pb2.SearchListingsResponse = await self.call(
            "SearchListings", request, caller
        )
        return response

    async def wait_for_status(
        self, listing_id: str, status: resources_pb2.ListingStatus.ValueType, limit: float = 20.0
    ) -> resources_pb2.Listing:
        last: list[resources_pb2.Listing] = []

        async def reached() -> bool:
            last[:] = [await self.get(listing_id)]
            return last[0].status == status

        await eventually(
            reached, limit=limit, what=lambda: f"{listing_id} {Status.Name(status)}: {last}"
        )
        return last[0]


def _role(name: str) -> Role:
    if name == "employer":
        return "employer"
    if name == "student":
        return "student"
    return "admin"


def engagement_event(kind: type[T], listing_id: str, engagement_id: str) -> T:
    """An applications.v1 engagement event, as the applications service would publish it."""
    engagement = applications_resources.Engagement(
        id=engagement_id, listing_id=listing_id, student_id=f"stu-{engagement_id}"
    )
    return kind(engagement_id=engagement_id, engagement=engagement)  # type: ignore[call-arg]


@dataclass
class ApplicationsStandIn:
    """Publishes applications.v1 events with a real producer, as the applications service."""

    publisher: KafkaPublisher
    clock: Clock

    def envelope(self, event: Message, subject: str) -> EventEnvelope:
        return new_envelope(event, source="applications", subject=subject, clock=self.clock)

    async def send(self, envelope: EventEnvelope) -> None:
        await self.publisher.publish_envelope(APPLICATIONS, envelope)

    async def started(self, listing_id: str, engagement_id: str) -> EventEnvelope:
        event = engagement_event(applications_events.EngagementStarted, listing_id, engagement_id)
        envelope = self.envelope(event, engagement_id)
        await self.send(envelope)
        return envelope

    async def cancelled(self, listing_id: str, engagement_id: str) -> EventEnvelope:
        event = engagement_event(applications_events.EngagementCancelled, listing_id, engagement_id)
        envelope = self.envelope(event, engagement_id)
        await self.send(envelope)
        return envelope
