"""The ListingsService gRPC API: requests become commands, handlers run off the event loop.

Authentication, the declared policy, protovalidate and idempotency keys are the runtime's call
pipeline; domain errors raised by the handlers propagate and it maps them to status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from stint.listings.v1 import service_pb2, service_pb2_grpc
from stint_runtime.grpc.auth import current_principal
from stint_runtime.proto_values import moment, money_from

from stint_listings.adapters import contracts
from stint_listings.adapters.repository import ListingRepository
from stint_listings.bootstrap import ListingsApp
from stint_listings.domain import commands as c
from stint_listings.domain.model import Listing
from stint_listings.domain.queries import Page, SearchOrder
from stint_listings.service_layer import handlers
from stint_listings.service_layer.handlers import Context

C = TypeVar("C")
R = TypeVar("R")

SKILL_MATCH_ALL = service_pb2.SKILL_MATCH_ALL
ORDER_FROM_PROTO = {
    service_pb2.SEARCH_ORDER_UNSPECIFIED: SearchOrder.NEWEST,
    service_pb2.SEARCH_ORDER_NEWEST: SearchOrder.NEWEST,
    service_pb2.SEARCH_ORDER_FEE_HIGHEST: SearchOrder.FEE_HIGHEST,
    service_pb2.SEARCH_ORDER_DEADLINE_SOONEST: SearchOrder.DEADLINE_SOONEST,
}


def caller() -> c.Actor:
    """The authenticated principal of the current call as the domain's Actor."""
    return current_principal()


def search_query(request: service_pb2.SearchListingsRequest, actor: c.Actor) -> c.SearchListings:
    return c.SearchListings(
        actor=actor,
        text=request.text,
        skills=tuple(request.skills),
        match_all_skills=request.skill_match == SKILL_MATCH_ALL,
        industry=request.industry,
        min_fee=money_from(request.min_fee) if request.HasField("min_fee") else None,
        max_fee=money_from(request.max_fee) if request.HasField("max_fee") else None,
        remote=request.remote if request.HasField("remote") else None,
        statuses=frozenset(contracts.STATUS_FROM_PROTO[s] for s in request.statuses),
        employer_org_id=request.employer_org_id,
        page_size=request.page_size,
        page_token=request.page_token,
        order=ORDER_FROM_PROTO[request.order],
        deadline_after=moment(request.deadline_after)
        if request.HasField("deadline_after")
        else None,
        deadline_before=(
            moment(request.deadline_before) if request.HasField("deadline_before") else None
        ),
        min_hours=request.min_hours,
        max_hours=request.max_hours,
    )


class ListingsServicer(service_pb2_grpc.ListingsServiceServicer):
    """One method per RPC; each runs its handler in a unit of work on a worker thread."""

    def __init__(self, app: ListingsApp) -> None:
        self.app = app

    async def _run(self, handler: Callable[[C, ListingRepository, Context], R], message: C) -> R:
        # The database driver blocks: keep the event loop free for other calls.
        return await asyncio.to_thread(self.app.run, handler, message)

    async def CreateListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.CreateListingRequest, context: Any
    ) -> service_pb2.CreateListingResponse:
        command = c.CreateListing(
            actor=caller(),
            employer_org_id=request.employer_org_id,
            content=contracts.content_from(request.content),
        )
        listing = await self._run(handlers.create_listing, command)
        return service_pb2.CreateListingResponse(listing=contracts.listing_message(listing))

    async def UpdateListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.UpdateListingRequest, context: Any
    ) -> service_pb2.UpdateListingResponse:
        command = c.UpdateListing(
            actor=caller(),
            listing_id=request.listing_id,
            expected_version=request.expected_version,
            content=contracts.content_from(request.content),
            update_mask=tuple(request.update_mask.paths),
        )
        listing = await self._run(handlers.update_listing, command)
        return service_pb2.UpdateListingResponse(listing=contracts.listing_message(listing))

    async def SubmitForReview(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SubmitForReviewRequest, context: Any
    ) -> service_pb2.SubmitForReviewResponse:
        command = c.SubmitForReview(caller(), request.listing_id, request.expected_version)
        listing = await self._run(handlers.submit_for_review, command)
        return service_pb2.SubmitForReviewResponse(listing=contracts.listing_message(listing))

    async def ApproveListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ApproveListingRequest, context: Any
    ) -> service_pb2.ApproveListingResponse:
        command = c.ApproveListing(caller(), request.listing_id, request.expected_version)
        listing = await self._run(handlers.approve_listing, command)
        return service_pb2.ApproveListingResponse(listing=contracts.listing_message(listing))

    async def RejectListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RejectListingRequest, context: Any
    ) -> service_pb2.RejectListingResponse:
        command = c.RejectListing(
            caller(), request.listing_id, request.expected_version, request.reason
        )
        listing = await self._run(handlers.reject_listing, command)
        return service_pb2.RejectListingResponse(listing=contracts.listing_message(listing))

    async def PublishListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.PublishListingRequest, context: Any
    ) -> service_pb2.PublishListingResponse:
        command = c.PublishListing(caller(), request.listing_id, request.expected_version)
        listing = await self._run(handlers.publish_listing, command)
        return service_pb2.PublishListingResponse(listing=contracts.listing_message(listing))

    async def CloseListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.CloseListingRequest, context: Any
    ) -> service_pb2.CloseListingResponse:
        command = c.CloseListing(
            caller(), request.listing_id, request.expected_version, request.reason
        )
        listing = await self._run(handlers.close_listing, command)
        return service_pb2.CloseListingResponse(listing=contracts.listing_message(listing))

    async def CancelListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.CancelListingRequest, context: Any
    ) -> service_pb2.CancelListingResponse:
        command = c.CancelListing(
            caller(), request.listing_id, request.expected_version, request.reason
        )
        listing = await self._run(handlers.cancel_listing, command)
        return service_pb2.CancelListingResponse(listing=contracts.listing_message(listing))

    async def GetListing(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetListingRequest, context: Any
    ) -> service_pb2.GetListingResponse:
        actor = caller()
        listing: Listing = await self._run(
            handlers.get_listing, c.GetListing(actor, request.listing_id)
        )
        return service_pb2.GetListingResponse(
            listing=contracts.listing_message(listing, show_creator=not actor.is_anonymous)
        )

    async def SearchListings(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SearchListingsRequest, context: Any
    ) -> service_pb2.SearchListingsResponse:
        actor = caller()
        page: Page = await self._run(handlers.search_listings, search_query(request, actor))
        show_creator = not actor.is_anonymous
        return service_pb2.SearchListingsResponse(
            listings=[
                contracts.listing_message(listing, show_creator=show_creator)
                for listing in page.listings
            ],
            next_page_token=page.next_page_token,
        )
