"""Talking to a running payouts service as gateways do, feeding it applications events through
the real broker, and steering the provider simulator."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from stint.applications.v1 import events_pb2 as app_events
from stint.applications.v1 import resources_pb2 as app_resources
from stint.common.v1 import money_pb2
from stint.payouts.v1 import resources_pb2, service_pb2, service_pb2_grpc
from stint.topics import APPLICATIONS
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.messaging.envelope import new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import StintSettings

PayoutStatus = resources_pb2.PayoutStatus
MUTATING = frozenset({"RegisterPayoutAccount", "RetryPayout", "Reconcile"})
ORG_A = "org-a"


@dataclass(frozen=True)
class Who:
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


async def eventually(
    check: Callable[[], Awaitable[Any]], *, limit: float = 60.0, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {limit}s (last: {result!r})")
        await asyncio.sleep(0.1)


class PayoutsClient:
    def __init__(self, stub: service_pb2_grpc.PayoutsServiceStub, settings: StintSettings) -> None:
        self.stub = stub
        self.settings = settings

    async def call(self, method: str, request: Message, who: Who) -> Any:
        token = None
        if who.role is not None:
            token = mint_token(self.settings, sub=who.subject, role=who.role, org=who.org)
        key = new_idempotency_key() if method in MUTATING else None
        rpc = getattr(self.stub, method)
        return await rpc(
            request, metadata=call_metadata(token=token, idempotency_key=key), timeout=30
        )

    async def code_of(self, method: str, request: Message, who: Who) -> grpc.StatusCode:
        try:
            await self.call(method, request, who)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    async def register(
        self,
        student: Who,
        *,
        currency: str = "USD",
        destination: str = "acct_000000001234",
        tax: resources_pb2.TaxFormStatus.ValueType = resources_pb2.TAX_FORM_STATUS_VERIFIED,
    ) -> resources_pb2.PayoutAccount:
        reply = await self.call(
            "RegisterPayoutAccount",
            service_pb2.RegisterPayoutAccountRequest(
                method=resources_pb2.PAYOUT_METHOD_BANK_ACCOUNT,
                destination_token=destination,
                country="US",
                currency=currency,
                tax_form_status=tax,
            ),
            student,
        )
        account: resources_pb2.PayoutAccount = reply.account
        return account

    async def payout(self, engagement_id: str) -> resources_pb2.Payout:
        reply = await self.call(
            "GetPayout", service_pb2.GetPayoutRequest(payout_id=f"pay-{engagement_id}"), ADMIN
        )
        payout: resources_pb2.Payout = reply.payout
        return payout

    async def payout_in(
        self,
        engagement_id: str,
        *statuses: resources_pb2.PayoutStatus.ValueType,
        limit: float = 60.0,
    ) -> resources_pb2.Payout:
        async def reached() -> resources_pb2.Payout | None:
            try:
                payout = await self.payout(engagement_id)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    return None
                raise
            return payout if payout.status in statuses else None

        names = [PayoutStatus.Name(s) for s in statuses]
        found: resources_pb2.Payout = await eventually(
            reached, limit=limit, what=f"payout of {engagement_id} in {names}"
        )
        return found

    async def ledger(self, engagement_id: str) -> list[resources_pb2.LedgerEntry]:
        reply = await self.call(
            "GetLedger",
            service_pb2.GetLedgerRequest(engagement_id=engagement_id, page_size=100),
            ADMIN,
        )
        return list(reply.entries)


def engagement(student: Who, fee_minor: int = 25_000, org: str = ORG_A) -> app_resources.Engagement:
    engagement_id = f"eng-{uuid.uuid4().hex[:12]}"
    return app_resources.Engagement(
        id=engagement_id,
        application_id=f"app-{engagement_id}",
        listing_id="lst-1",
        listing_title="A project",
        employer_org_id=org,
        student_id=student.subject,
        fee=money_pb2.Money(amount_minor=fee_minor, currency="USD"),
    )


@dataclass
class EventFeed:
    """Publishes applications.v1 events with a real producer, as the applications service does."""

    publisher: KafkaPublisher

    async def send(self, event: Message, engagement_id: str) -> None:
        envelope = new_envelope(
            event, source="applications", subject=engagement_id, clock=SystemClock()
        )
        await self.publisher.publish_envelope(APPLICATIONS, envelope)

    async def started(self, e: app_resources.Engagement) -> None:
        await self.send(app_events.EngagementStarted(engagement_id=e.id, engagement=e), e.id)

    async def approved(self, e: app_resources.Engagement) -> None:
        await self.send(app_events.DeliverableApproved(engagement_id=e.id, engagement=e), e.id)

    async def resolved(self, e: app_resources.Engagement, percent: int) -> None:
        await self.send(
            app_events.DisputeResolved(engagement_id=e.id, engagement=e, payout_percent=percent),
            e.id,
        )

    async def cancelled(self, e: app_resources.Engagement) -> None:
        await self.send(
            app_events.EngagementCancelled(
                engagement_id=e.id, engagement=e, reason="changed plans"
            ),
            e.id,
        )


class Simulator:
    """The provider simulator's control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url

    def faults(self, **changes: float) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.url}/_simulator/faults", data=json.dumps(changes).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
            return dict(json.load(reply))

    def stats(self) -> dict[str, Any]:
        url = f"{self.url}/_simulator/stats"
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - loopback
            return dict(json.load(reply))
