"""Talking to a running applications service as gateways do, and feeding it the events of the
listings and payouts services through the real broker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from google.protobuf.message import Message
from pymongo.database import Database
from stint.applications.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint.common.v1 import money_pb2
from stint.common.v1.events_pb2 import EventEnvelope
from stint.listings.v1 import events_pb2 as listings_events
from stint.listings.v1 import resources_pb2 as listings_resources
from stint.payouts.v1 import events_pb2 as payouts_events
from stint.payouts.v1 import resources_pb2 as payouts_resources
from stint.topics import APPLICATIONS, LISTINGS, PAYOUTS
from stint_runtime.clock import Clock
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.messaging.envelope import decode_envelope, new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import INBOX, inbox_id
from stint_runtime.proto_values import timestamp
from stint_runtime.settings import StintSettings

from tests.support.messaging_kit import read_topic
from tests.support.waiting import eventually

AppStatus = resources_pb2.ApplicationStatus
EngStatus = resources_pb2.EngagementStatus
Application = resources_pb2.Application
Engagement = resources_pb2.Engagement
ListingStatus = listings_resources.ListingStatus
ORG_A = "org-a"
DAY = timedelta(days=1)
MUTATING = frozenset(
    {
        "Apply",
        "WithdrawApplication",
        "ShortlistApplication",
        "RejectApplication",
        "ExtendOffer",
        "AcceptOffer",
        "DeclineOffer",
        "SubmitDeliverable",
        "RequestRevision",
        "ApproveDeliverable",
        "CancelEngagement",
        "OpenDispute",
        "ResolveDispute",
        "LeaveFeedback",
        "PostMessage",
        "InviteStudent",
    }
)


@dataclass(frozen=True)
class Who:
    """A caller: the claims of the token it presents (no role: no token at all)."""

    subject: str
    role: Role | None
    org: str | None = None


EMPLOYER = Who("emp-a", "employer", ORG_A)
OTHER_EMPLOYER = Who("emp-b", "employer", "org-b")
OTHER_STUDENT = Who("stu-other", "student")
ADMIN = Who("adm-1", "admin")
NOBODY = Who("", None)


def new_student() -> Who:
    return Who(f"stu-{uuid.uuid4().hex[:10]}", "student")


# The acceptance criteria of `listing_message`'s deliverables, flattened in order.
CRITERIA = ("Shows revenue per month", "Loads in under 2 seconds", "Has unit tests")


def checklist_for(e: Engagement, met: bool = True) -> list[resources_pb2.CriterionCheck]:
    """A complete checklist: one check per criterion the engagement agreed to."""
    return [
        resources_pb2.CriterionCheck(criterion=c, met=met, comment="see the pull request")
        for c in e.acceptance_criteria
    ]


def answers() -> list[resources_pb2.ScreeningAnswer]:
    return [resources_pb2.ScreeningAnswer(question_id="portfolio", answer="https://example.org")]


@dataclass
class ApplicationsClient:
    """Calls the service as anyone; mutating calls get a fresh idempotency key each."""

    stub: service_pb2_grpc.ApplicationsServiceAsyncStub
    settings: StintSettings

    def metadata(self, who: Who, idempotency_key: str | None) -> tuple[tuple[str, str], ...]:
        token = None
        if who.role is not None:
            token = mint_token(self.settings, sub=who.subject, role=who.role, org=who.org)
        return call_metadata(token=token, idempotency_key=idempotency_key)

    async def call(
        self, method: str, request: Message, who: Who, *, idempotency_key: str | None = None
    ) -> Any:
        if method in MUTATING and idempotency_key is None:
            idempotency_key = new_idempotency_key()
        rpc = getattr(self.stub, method)
        return await rpc(request, metadata=self.metadata(who, idempotency_key), timeout=30)

    async def code_of(self, method: str, request: Message, who: Who) -> grpc.StatusCode:
        try:
            await self.call(method, request, who)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    # ---- applications ----------------------------------------------------------------------

    async def apply(self, listing_id: str, who: Who) -> Application:
        request = service_pb2.ApplyRequest(
            listing_id=listing_id, cover_letter="I build dashboards.", answers=answers()
        )
        application: Application = (await self.call("Apply", request, who)).application
        return application

    async def _application(self, method: str, request: Message, who: Who) -> Application:
        application: Application = (await self.call(method, request, who)).application
        return application

    async def shortlist(self, a: Application, who: Who = EMPLOYER) -> Application:
        request = service_pb2.ShortlistApplicationRequest(
            application_id=a.id, expected_version=a.version
        )
        return await self._application("ShortlistApplication", request, who)

    async def offer(self, a: Application, who: Who = EMPLOYER) -> Application:
        request = service_pb2.ExtendOfferRequest(
            application_id=a.id, expected_version=a.version, message="Welcome"
        )
        return await self._application("ExtendOffer", request, who)

    async def reject(self, a: Application, who: Who = EMPLOYER) -> Application:
        request = service_pb2.RejectApplicationRequest(
            application_id=a.id, expected_version=a.version, reason="not a fit"
        )
        return await self._application("RejectApplication", request, who)

    async def withdraw(self, a: Application, who: Who) -> Application:
        request = service_pb2.WithdrawApplicationRequest(
            application_id=a.id, expected_version=a.version, reason="found another"
        )
        return await self._application("WithdrawApplication", request, who)

    async def decline(self, a: Application, who: Who) -> Application:
        request = service_pb2.DeclineOfferRequest(application_id=a.id, expected_version=a.version)
        return await self._application("DeclineOffer", request, who)

    async def accept(self, a: Application, who: Who) -> service_pb2.AcceptOfferResponse:
        request = service_pb2.AcceptOfferRequest(application_id=a.id, expected_version=a.version)
        response: service_pb2.AcceptOfferResponse = await self.call("AcceptOffer", request, who)
        return response

    async def get_application(self, application_id: str, who: Who = ADMIN) -> Application:
        request = service_pb2.GetApplicationRequest(application_id=application_id)
        return await self._application("GetApplication", request, who)

    async def offered(self, listing_id: str, who: Who) -> Application:
        return await self.offered_from(await self.apply(listing_id, who))

    async def offered_from(self, applied: Application) -> Application:
        return await self.offer(await self.shortlist(applied))

    # ---- engagements -----------------------------------------------------------------------

    async def _engagement(self, method: str, request: Message, who: Who) -> Engagement:
        engagement: Engagement = (await self.call(method, request, who)).engagement
        return engagement

    async def engaged(self, listing_id: str, who: Who) -> Engagement:
        return (await self.accept(await self.offered(listing_id, who), who)).engagement

    async def submit(self, e: Engagement, who: Who) -> Engagement:
        request = service_pb2.SubmitDeliverableRequest(
            engagement_id=e.id,
            expected_version=e.version,
            note="Done: see the pull request",
            links=["https://example.org/pr/1"],
            checklist=checklist_for(e),
        )
        return await self._engagement("SubmitDeliverable", request, who)

    async def revise(self, e: Engagement, who: Who = EMPLOYER) -> Engagement:
        request = service_pb2.RequestRevisionRequest(
            engagement_id=e.id, expected_version=e.version, reason="Add the totals row"
        )
        return await self._engagement("RequestRevision", request, who)

    async def approve(self, e: Engagement, who: Who = EMPLOYER) -> Engagement:
        request = service_pb2.ApproveDeliverableRequest(
            engagement_id=e.id, expected_version=e.version
        )
        return await self._engagement("ApproveDeliverable", request, who)

    async def cancel(self, e: Engagement, who: Who = EMPLOYER) -> Engagement:
        request = service_pb2.CancelEngagementRequest(
            engagement_id=e.id, expected_version=e.version, reason="project dropped"
        )
        return await self._engagement("CancelEngagement", request, who)

    async def dispute(self, e: Engagement, who: Who) -> Engagement:
        request = service_pb2.OpenDisputeRequest(
            engagement_id=e.id, expected_version=e.version, reason="no review came"
        )
        return await self._engagement("OpenDispute", request, who)

    async def resolve(self, e: Engagement, percent: int = 60, who: Who = ADMIN) -> Engagement:
        request = service_pb2.ResolveDisputeRequest(
            engagement_id=e.id,
            expected_version=e.version,
            payout_percent=percent,
            resolution="partly done",
        )
        return await self._engagement("ResolveDispute", request, who)

    async def feedback(self, e: Engagement, who: Who, rating: int = 5) -> Engagement:
        request = service_pb2.LeaveFeedbackRequest(engagement_id=e.id, rating=rating, text="ok")
        return await self._engagement("LeaveFeedback", request, who)

    async def get_engagement(self, engagement_id: str, who: Who = ADMIN) -> Engagement:
        request = service_pb2.GetEngagementRequest(engagement_id=engagement_id)
        return await self._engagement("GetEngagement", request, who)

    async def record(self, engagement_id: str, who: Who) -> resources_pb2.CompletionRecord:
        request = service_pb2.GetCompletionRecordRequest(engagement_id=engagement_id)
        response = await self.call("GetCompletionRecord", request, who)
        record: resources_pb2.CompletionRecord = response.record
        return record

    async def wait_engagement(
        self, engagement_id: str, status: EngStatus.ValueType, limit: float = 20.0
    ) -> Engagement:
        seen: list[Engagement] = []

        async def reached() -> bool:
            seen[:] = [await self.get_engagement(engagement_id)]
            return seen[0].status == status

        await eventually(
            reached,
            limit=limit,
            what=lambda: f"engagement {engagement_id} {EngStatus.Name(status)}; last {seen}",
        )
        return seen[0]

    async def wait_application(
        self, application_id: str, status: AppStatus.ValueType, limit: float = 20.0
    ) -> Application:
        seen: list[Application] = []

        async def reached() -> bool:
            seen[:] = [await self.get_application(application_id)]
            return seen[0].status == status

        await eventually(
            reached,
            limit=limit,
            what=lambda: f"application {application_id} {AppStatus.Name(status)}; last {seen}",
        )
        return seen[0]


def listing_message(
    now: datetime,
    *,
    seats: int = 2,
    status: ListingStatus.ValueType = ListingStatus.LISTING_STATUS_PUBLISHED,
    org: str = ORG_A,
) -> listings_resources.Listing:
    """A listing as listings.v1 events carry it: deadline 5 days after `now`, due after 20."""
    return listings_resources.Listing(
        id=f"l-{uuid.uuid4().hex[:10]}",
        employer_org_id=org,
        title="Build a React dashboard",
        skills=["react", "typescript"],
        estimated_hours=10,
        fee=money_pb2.Money(amount_minor=20_000, currency="USD"),
        seats=seats,
        application_deadline=timestamp(now + 5 * DAY),
        due_date=timestamp(now + 20 * DAY),
        screening_questions=[
            listings_resources.ScreeningQuestion(
                id="portfolio", text="Link your portfolio", required=True
            )
        ],
        deliverables=[
            listings_resources.Deliverable(title="Dashboard", acceptance_criteria=CRITERIA[:2]),
            listings_resources.Deliverable(title="Tests", acceptance_criteria=CRITERIA[2:]),
        ],
        status=status,
        version=1,
    )


async def handled(db: Database[Any], group: str, envelopes: Sequence[EventEnvelope]) -> None:
    """Wait until the consumer `group` writing to `db` marked every envelope in its inbox."""
    ids = [inbox_id(group, e.id) for e in envelopes]

    async def marked() -> bool:
        count = await asyncio.to_thread(db[INBOX].count_documents, {"_id": {"$in": ids}})
        return bool(count == len(ids))

    await eventually(marked, limit=60, what=lambda: f"inbox marks {ids} (group {group})")


@dataclass
class EventFeed:
    """Publishes listings.v1 and payouts.v1 events with a real producer, as those services do,
    and waits until the applications service (database `db`, group `group`) handled them."""

    publisher: KafkaPublisher
    clock: Clock
    db: Database[Any]
    group: str = "applications"

    async def _send(self, topic: str, event: Message, subject: str, source: str) -> None:
        envelope = new_envelope(event, source=source, subject=subject, clock=self.clock)
        await self.publisher.publish_envelope(topic, envelope)
        await handled(self.db, self.group, [envelope])

    async def listing(self, listing: listings_resources.Listing, event: type[Message]) -> None:
        await self._send(
            LISTINGS, event(listing_id=listing.id, listing=listing), listing.id, "listings"
        )

    async def published(self, seats: int = 2) -> listings_resources.Listing:
        listing = listing_message(self.clock.now(), seats=seats)
        await self.listing(listing, listings_events.ListingPublished)
        return listing

    async def changed(
        self,
        listing: listings_resources.Listing,
        status: listings_resources.ListingStatus.ValueType,
        event: type[Message],
    ) -> listings_resources.Listing:
        after = listings_resources.Listing()
        after.CopyFrom(listing)
        after.status = status
        after.version = listing.version + 1
        await self.listing(after, event)
        return after

    async def payout_paid(self, engagement: Engagement) -> None:
        payout = payouts_resources.Payout(
            id=f"p-{uuid.uuid4().hex[:10]}",
            engagement_id=engagement.id,
            listing_id=engagement.listing_id,
            employer_org_id=engagement.employer_org_id,
            student_id=engagement.student_id,
            amount=engagement.fee,
            payout_percent=engagement.payout_percent,
            status=payouts_resources.PAYOUT_STATUS_PAID,
        )
        event = payouts_events.PayoutPaid(payout_id=payout.id, payout=payout)
        await self._send(PAYOUTS, event, payout.id, "payouts")


async def published_events(bootstrap_servers: str, subject: str, count: int) -> list[str]:
    """The short type names of the first `count` applications.v1 events keyed by `subject`."""

    def mine(records: list[Any]) -> list[str]:
        return [
            decode_envelope(r.value).type.rsplit(".", 1)[1]
            for r in sorted(records, key=lambda r: (r.partition, r.offset))
            if r.key == subject.encode()
        ]

    records = await read_topic(
        bootstrap_servers, APPLICATIONS, until=lambda records: len(mine(records)) >= count
    )
    return mine(records)


async def apply_once_known(
    client: ApplicationsClient,
    listing_id: str,
    who: Who,
    limit: float = 60.0,
    until_not: grpc.StatusCode = grpc.StatusCode.NOT_FOUND,
) -> Application:
    """Apply as soon as the service has consumed the listing's latest state: the call fails
    with `until_not` (NOT_FOUND for a listing it has not heard of) until then."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await client.apply(listing_id, who)
        except grpc.aio.AioRpcError as error:
            if error.code() != until_not or time.monotonic() > deadline:
                raise AssertionError(
                    f"applying to {listing_id}: {error.code().name} after waiting up to "
                    f"{limit}s for the listing to reach the applications service"
                ) from error
        await asyncio.sleep(0.2)
