"""The demo's shared state and the calls every step makes (a gateway's view of the platform)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from stint.applications.v1 import resources_pb2 as app_resources
from stint.applications.v1 import service_pb2 as app
from stint.common.v1.money_pb2 import Money
from stint.listings.v1 import resources_pb2 as listing_resources
from stint.notifications.v1 import resources_pb2 as notification_resources
from stint.notifications.v1 import service_pb2 as notifications
from stint.payouts.v1 import resources_pb2 as payout_resources
from stint.payouts.v1 import service_pb2 as payouts
from stint_runtime.clock import read_clock_offset

from tools.demo.gateway import Gateway, User, until
from tools.demo.people import Cast, Student
from tools.demo.university import University

App = app_resources.Application
Eng = app_resources.Engagement
AppStatus = app_resources.ApplicationStatus
EngStatus = app_resources.EngagementStatus
PayoutStatus = payout_resources.PayoutStatus
COMPLETED = "stint.applications.v1.EngagementCompleted"
NOT_YET = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION})
RESPONSE_SLA_PASSED = timedelta(days=8)  # the employer's 7-day response window, and a day


def money(m: Money) -> str:
    return f"{m.amount_minor} {m.currency} (minor units)"


@dataclass
class Facts:
    """What happened, for the summary and the tests."""

    listings: dict[str, str] = field(default_factory=dict)
    engagements: dict[str, str] = field(default_factory=dict)
    payouts: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, str] = field(default_factory=dict)
    records_verified: list[str] = field(default_factory=list)
    webhooks_verified: int = 0
    emails: dict[str, list[str]] = field(default_factory=dict)
    traces: dict[str, str] = field(default_factory=dict)
    clock_moved_days: float = 0.0


class Demo:
    """The scenario's state over one gateway: what the steps made, and how they call."""

    def __init__(
        self, gateway: Gateway, cast: Cast, maildir: Path, clock_file: Path, university: University
    ) -> None:
        self.gw = gateway
        self.cast = cast
        self.maildir = maildir
        self.clock_file = clock_file
        self.university = university
        self.facts = Facts()
        self.listing: dict[str, listing_resources.Listing] = {}
        self.apps: dict[str, App] = {}
        self.engs: dict[str, Eng] = {}
        self.student = {s.name: s for s in cast.students}

    def now(self) -> datetime:
        """The platform's time: the wall clock plus its development clock file's offset."""
        return datetime.now(UTC) + read_clock_offset(self.clock_file)

    async def call(self, service: str, method: str, request: Any, user: User | None) -> Any:
        return await self.gw.call(service, method, request, user)

    async def listing_rpc(self, method: str, request: Any, user: User) -> listing_resources.Listing:
        listing: listing_resources.Listing = (
            await self.call("listings", method, request, user)
        ).listing
        return listing

    async def application_rpc(self, method: str, request: Any, user: User) -> App:
        application: App = (await self.call("applications", method, request, user)).application
        return application

    async def engagement_rpc(self, method: str, request: Any, user: User) -> Eng:
        engagement: Eng = (await self.call("applications", method, request, user)).engagement
        return engagement

    async def inbox(self, user: User, title: str) -> list[notification_resources.Notification]:
        request = notifications.ListNotificationsRequest(user_id=user.sub, page_size=100)
        reply = await self.call("notifications", "ListNotifications", request, user)
        return [n for n in reply.notifications if n.title == title]

    async def notified(self, user: User, title: str) -> None:
        async def seen() -> bool | None:
            return True if await self.inbox(user, title) else None

        await until(seen, f"{user.sub} told {title!r}", limit=45)

    async def application_in(self, key: str, status: AppStatus.ValueType, user: User) -> App:
        request = app.GetApplicationRequest(application_id=self.apps[key].id)

        async def reached() -> App | None:
            found = await self.application_rpc("GetApplication", request, user)
            return found if found.status == status else None

        self.apps[key] = await until(reached, f"application {key} {AppStatus.Name(status)}")
        return self.apps[key]

    async def engagement_in(self, key: str, status: EngStatus.ValueType, user: User) -> Eng:
        request = app.GetEngagementRequest(engagement_id=self.engs[key].id)

        async def reached() -> Eng | None:
            found = await self.engagement_rpc("GetEngagement", request, user)
            return found if found.status == status else None

        self.engs[key] = await until(
            reached, f"engagement {key} {EngStatus.Name(status)}", limit=45
        )
        return self.engs[key]

    async def payout_in(
        self, key: str, status: PayoutStatus.ValueType, user: User
    ) -> payout_resources.Payout:
        request = payouts.ListPayoutsRequest(engagement_id=self.engs[key].id)

        async def reached() -> payout_resources.Payout | None:
            reply = await self.call("payouts", "ListPayouts", request, user)
            return next((p for p in reply.payouts if p.status == status), None)

        return await until(reached, f"payout of {key} {PayoutStatus.Name(status)}", limit=45)

    # ---- steps -----------------------------------------------------------------------------

    async def register_account(self, student: Student) -> None:
        request = payouts.RegisterPayoutAccountRequest(
            method=payout_resources.PAYOUT_METHOD_BANK_ACCOUNT,
            destination_token=f"acct_demo{secrets.token_hex(6)}",
            country="US",
            currency="USD",
            tax_form_status=payout_resources.TAX_FORM_STATUS_VERIFIED,
        )
        await self.call("payouts", "RegisterPayoutAccount", request, student.user)
