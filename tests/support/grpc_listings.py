"""A test servicer of the real ListingsService contract (under the real service's policy) and
valid requests, for exercising the gRPC server runtime on its own."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from google.protobuf.timestamp_pb2 import Timestamp
from stint.common.v1 import money_pb2
from stint.listings.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint_listings.entrypoints.policy import LISTINGS_POLICY, LISTINGS_SERVICE
from stint_runtime.errors import FailedPrecondition, NotFound
from stint_runtime.grpc.auth import current_principal
from stint_runtime.grpc.policy import ServicePolicy
from stint_runtime.grpc.server import ServiceBinding
from typing_extensions import override

# Titles and listing ids that make the test servicer misbehave on purpose.
DOMAIN_ERROR = "domain-error"
BOOM = "boom"
SLOW = "slow"
SECRET_IN_EXCEPTION = "do-not-leak-this-detail"


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def listing_content(
    title: str = "Build a landing page", **overrides: Any
) -> resources_pb2.ListingContent:
    """Content that passes every declarative rule of ListingContent; equal for equal arguments."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    fields: dict[str, Any] = {
        "title": title,
        "description": "A small, well-scoped project.",
        "skills": ["html", "css"],
        "industry": "software",
        "deliverables": [
            resources_pb2.Deliverable(title="Page", acceptance_criteria=["responsive"])
        ],
        "estimated_hours": 10,
        "fee": money_pb2.Money(amount_minor=25_000, currency="USD"),
        "seats": 1,
        "application_deadline": _timestamp(now + timedelta(days=7)),
        "due_date": _timestamp(now + timedelta(days=21)),
        "remote": True,
    }
    fields.update(overrides)
    return resources_pb2.ListingContent(**fields)


def create_request(
    title: str = "Build a landing page", org: str = "org-1"
) -> service_pb2.CreateListingRequest:
    return service_pb2.CreateListingRequest(employer_org_id=org, content=listing_content(title))


class ListingsTestServicer(service_pb2_grpc.ListingsServiceServicer):
    """Counts its calls; each created listing gets a fresh id, so a re-execution is visible."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def _misbehave(self, marker: str) -> None:
        if marker == DOMAIN_ERROR:
            raise FailedPrecondition("listing is not in a state that allows this")
        if marker == BOOM:
            raise RuntimeError(SECRET_IN_EXCEPTION)
        if marker == SLOW:
            self.entered.set()
            await self.release.wait()

    @override
    async def CreateListing(
        self, request: service_pb2.CreateListingRequest, context: Any
    ) -> service_pb2.CreateListingResponse:
        self.calls["CreateListing"] += 1
        await self._misbehave(request.content.title)
        principal = current_principal()
        listing = resources_pb2.Listing(
            id=f"lst-{self.calls['CreateListing']}",
            employer_org_id=request.employer_org_id,
            created_by=principal.subject,
            title=request.content.title,
            status=resources_pb2.LISTING_STATUS_DRAFT,
            version=1,
        )
        return service_pb2.CreateListingResponse(listing=listing)

    @override
    async def ApproveListing(
        self, request: service_pb2.ApproveListingRequest, context: Any
    ) -> service_pb2.ApproveListingResponse:
        self.calls["ApproveListing"] += 1
        listing = resources_pb2.Listing(
            id=request.listing_id,
            status=resources_pb2.LISTING_STATUS_PUBLISHED,
            version=request.expected_version + 1,
        )
        return service_pb2.ApproveListingResponse(listing=listing)

    @override
    async def GetListing(
        self, request: service_pb2.GetListingRequest, context: Any
    ) -> service_pb2.GetListingResponse:
        self.calls["GetListing"] += 1
        if request.listing_id == DOMAIN_ERROR:
            raise NotFound(f"listing {request.listing_id} not found")
        await self._misbehave(request.listing_id)
        principal = current_principal()
        listing = resources_pb2.Listing(
            id=request.listing_id, created_by=principal.subject or "anonymous"
        )
        return service_pb2.GetListingResponse(listing=listing)

    async def _not_served(self, method: str) -> NoReturn:
        raise FailedPrecondition(f"{method} is not part of the test servicer")

    @override
    async def UpdateListing(self, request: Any, context: Any) -> Any:
        await self._not_served("UpdateListing")

    @override
    async def SubmitForReview(self, request: Any, context: Any) -> Any:
        await self._not_served("SubmitForReview")

    @override
    async def RejectListing(self, request: Any, context: Any) -> Any:
        await self._not_served("RejectListing")

    @override
    async def PublishListing(self, request: Any, context: Any) -> Any:
        await self._not_served("PublishListing")

    @override
    async def CloseListing(self, request: Any, context: Any) -> Any:
        await self._not_served("CloseListing")

    @override
    async def CancelListing(self, request: Any, context: Any) -> Any:
        await self._not_served("CancelListing")

    @override
    async def SearchListings(self, request: Any, context: Any) -> Any:
        await self._not_served("SearchListings")


def listings_binding(
    servicer: ListingsTestServicer, policy: ServicePolicy = LISTINGS_POLICY
) -> ServiceBinding:
    return ServiceBinding(
        descriptor=LISTINGS_SERVICE,
        servicer=servicer,
        add_to_server=service_pb2_grpc.add_ListingsServiceServicer_to_server,
        policy=policy,
    )
