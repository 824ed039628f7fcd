"""The scenario, step by step, exactly as a gateway would drive it (gRPC only).

Each step is one method returning a progress line; `Journey.facts` collects what the summary
and the tests check. Time-based steps move the platform's development clock (its clock file),
never sleep.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from stint.applications.v1 import resources_pb2 as app_resources
from stint.applications.v1 import service_pb2 as app
from stint.common.v1.money_pb2 import Money
from stint.listings.v1 import resources_pb2 as listing_resources
from stint.listings.v1 import service_pb2 as listings
from stint.notifications.v1 import resources_pb2 as notification_resources
from stint.notifications.v1 import service_pb2 as notifications
from stint.payouts.v1 import resources_pb2 as payout_resources
from stint.payouts.v1 import service_pb2 as payouts
from stint_runtime.clock import read_clock_offset, write_clock_offset

from tools.demo.gateway import Gateway, StepFailed, User, until
from tools.demo.listings import brand_kit, dashboard
from tools.demo.mailbox import emails_to
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
    applications: dict[str, str] = field(default_factory=dict)
    engagements: dict[str, str] = field(default_factory=dict)
    payouts: dict[str, str] = field(default_factory=dict)
    ledger: dict[str, str] = field(default_factory=dict)
    records_verified: list[str] = field(default_factory=list)
    webhooks_verified: int = 0
    emails: dict[str, list[str]] = field(default_factory=dict)
    traces: dict[str, str] = field(default_factory=dict)
    clock_moved_days: float = 0.0


class Journey:
    """The demo's scenario over one gateway; steps run in order and share what they made."""

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

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        return [
            ("people", self.people),
            ("university webhook", self.university_webhook),
            ("listing: Sales dashboard", self.dashboard_listing),
            ("moderation: Brand kit", self.brand_kit_moderation),
            ("skill alerts", self.skill_alerts),
            ("applications", self.applications),
            ("decisions and offers", self.decisions),
            ("offers accepted", self.offers_accepted),
            ("time passes: no ghosting", self.no_ghosting),
            ("engagement 1: revision, approval", self.revision_then_approval),
            ("engagement 2: dispute at 60%", self.dispute),
            ("payouts", self.payouts),
            ("ledger", self.ledger),
            ("feedback", self.feedback),
            ("completion records", self.completion_records),
            ("university receives completions", self.webhook_received),
            ("emails", self.emails),
        ]

    # ---- helpers ---------------------------------------------------------------------------

    def now(self) -> datetime:
        """The platform's time: the wall clock plus its development clock file's offset."""
        return datetime.now(UTC) + read_clock_offset(self.clock_file)

    async def _call(self, service: str, method: str, request: Any, user: User | None) -> Any:
        return await self.gw.call(service, method, request, user)

    async def _listing(self, method: str, request: Any, user: User) -> listing_resources.Listing:
        listing: listing_resources.Listing = (
            await self._call("listings", method, request, user)
        ).listing
        return listing

    async def _app(self, method: str, request: Any, user: User) -> App:
        application: App = (await self._call("applications", method, request, user)).application
        return application

    async def _eng(self, method: str, request: Any, user: User) -> Eng:
        engagement: Eng = (await self._call("applications", method, request, user)).engagement
        return engagement

    async def _inbox(self, user: User, title: str) -> list[notification_resources.Notification]:
        request = notifications.ListNotificationsRequest(user_id=user.sub, page_size=100)
        reply = await self._call("notifications", "ListNotifications", request, user)
        return [n for n in reply.notifications if n.title == title]

    async def _notified(self, user: User, title: str) -> None:
        async def seen() -> bool | None:
            return True if await self._inbox(user, title) else None

        await until(seen, f"{user.sub} told {title!r}", limit=45)

    async def _application_in(self, key: str, status: AppStatus.ValueType, user: User) -> App:
        request = app.GetApplicationRequest(application_id=self.apps[key].id)

        async def reached() -> App | None:
            found = await self._app("GetApplication", request, user)
            return found if found.status == status else None

        self.apps[key] = await until(reached, f"application {key} {AppStatus.Name(status)}")
        return self.apps[key]

    async def _engagement_in(self, key: str, status: EngStatus.ValueType, user: User) -> Eng:
        request = app.GetEngagementRequest(engagement_id=self.engs[key].id)

        async def reached() -> Eng | None:
            found = await self._eng("GetEngagement", request, user)
            return found if found.status == status else None

        self.engs[key] = await until(
            reached, f"engagement {key} {EngStatus.Name(status)}", limit=45
        )
        return self.engs[key]

    async def _payout_in(
        self, key: str, status: PayoutStatus.ValueType, user: User
    ) -> payout_resources.Payout:
        request = payouts.ListPayoutsRequest(engagement_id=self.engs[key].id)

        async def reached() -> payout_resources.Payout | None:
            reply = await self._call("payouts", "ListPayouts", request, user)
            return next((p for p in reply.payouts if p.status == status), None)

        return await until(reached, f"payout of {key} {PayoutStatus.Name(status)}", limit=45)

    # ---- steps -----------------------------------------------------------------------------

    async def people(self) -> str:
        cast = self.cast
        contacts = [
            (cast.employer, cast.employer_email, "Ada (Northwind)"),
            (cast.admin, cast.admin_email, "Moderation"),
            *((s.user, s.email, s.name) for s in cast.students),
        ]
        for user, email, name in contacts:
            request = notifications.RegisterContactRequest(
                user_id=user.sub, email=email, display_name=name
            )
            await self._call("notifications", "RegisterContact", request, user)
        for s in cast.students:
            subscribe = notifications.SubscribeSkillsRequest(user_id=s.user.sub, skills=s.skills)
            await self._call("notifications", "SubscribeSkills", subscribe, s.user)
        await self._register_account(self.student["Amara"])
        return (
            f"org {cast.org}: employer {cast.employer.sub}, admin {cast.admin.sub}; "
            f"5 students with skill alerts; Amara registered a payout account, Bo did not"
        )

    async def _register_account(self, student: Student) -> None:
        request = payouts.RegisterPayoutAccountRequest(
            method=payout_resources.PAYOUT_METHOD_BANK_ACCOUNT,
            destination_token=f"acct_demo{secrets.token_hex(6)}",
            country="US",
            currency="USD",
            tax_form_status=payout_resources.TAX_FORM_STATUS_VERIFIED,
        )
        await self._call("payouts", "RegisterPayoutAccount", request, student.user)

    async def university_webhook(self) -> str:
        amara = self.student["Amara"]
        self.university.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        request = notifications.RegisterWebhookRequest(
            owner_id=amara.user.sub,
            url=self.university.url,
            secret=self.university.secret,
            event_types=[COMPLETED],
        )
        webhook = (
            await self._call("notifications", "RegisterWebhook", request, amara.user)
        ).webhook
        return (
            f"Amara shares completions with her university: {webhook.id} -> {self.university.url}"
        )

    async def _approved_and_published(self, listing: listing_resources.Listing) -> str:
        employer, admin = self.cast.employer, self.cast.admin
        approved = await self._listing(
            "ApproveListing",
            listings.ApproveListingRequest(listing_id=listing.id, expected_version=listing.version),
            admin,
        )
        published = await self._listing(
            "PublishListing",
            listings.PublishListingRequest(
                listing_id=approved.id, expected_version=approved.version
            ),
            employer,
        )
        self.facts.listings[published.title] = listing_resources.ListingStatus.Name(
            published.status
        )
        self.listing[published.title] = published
        return published.id

    async def _created_and_submitted(
        self, content: listing_resources.ListingContent
    ) -> listing_resources.Listing:
        employer = self.cast.employer
        draft = await self._listing(
            "CreateListing",
            listings.CreateListingRequest(employer_org_id=self.cast.org, content=content),
            employer,
        )
        return await self._listing(
            "SubmitForReview",
            listings.SubmitForReviewRequest(listing_id=draft.id, expected_version=draft.version),
            employer,
        )

    async def dashboard_listing(self) -> str:
        pending = await self._created_and_submitted(dashboard(self.now()))
        listing_id = await self._approved_and_published(pending)
        return f"{listing_id}: 3 seats, fee {money(pending.fee)}, approved and PUBLISHED"

    async def brand_kit_moderation(self) -> str:
        employer, admin = self.cast.employer, self.cast.admin
        pending = await self._created_and_submitted(brand_kit(self.now(), fixed=False))
        reason = "Acceptance criteria must be checkable: 'Looks good' is not."
        rejected = await self._listing(
            "RejectListing",
            listings.RejectListingRequest(
                listing_id=pending.id, expected_version=pending.version, reason=reason
            ),
            admin,
        )
        await self._notified(employer, "Your listing was not approved")
        fixed = await self._listing(
            "UpdateListing",
            listings.UpdateListingRequest(
                listing_id=rejected.id,
                expected_version=rejected.version,
                content=brand_kit(self.now(), fixed=True),
            ),
            employer,
        )
        resubmitted = await self._listing(
            "SubmitForReview",
            listings.SubmitForReviewRequest(listing_id=fixed.id, expected_version=fixed.version),
            employer,
        )
        listing_id = await self._approved_and_published(resubmitted)
        return f"{listing_id}: REJECTED ({reason!r}), fixed, resubmitted, approved, PUBLISHED"

    async def skill_alerts(self) -> str:
        for s in self.cast.students:
            await self._notified(s.user, "New project matching your skills")
        return "each of the 5 students got an alert for the project matching their skills"

    async def applications(self) -> str:
        dashboard_id = self.listing["Sales dashboard in Python"].id
        brand_id = self.listing["Refresh our brand kit"].id
        plan = [("Amara", dashboard_id), ("Bo", dashboard_id), ("Chen", dashboard_id)]
        plan += [("Dara", brand_id), ("Eli", brand_id)]
        for name, listing_id in plan:
            request = app.ApplyRequest(listing_id=listing_id, cover_letter=f"Hi, I am {name}.")
            user = self.student[name].user

            async def applied(request: Any = request, user: User = user) -> App | None:
                return await self._app("Apply", request, user)

            # The applications service learns of a listing from listings.v1: NOT_FOUND until then.
            self.apps[name] = await until(applied, f"{name} applies", retry_codes=NOT_YET)
        return "Amara, Bo and Chen applied to the dashboard; Dara and Eli to the brand kit"

    async def decisions(self) -> str:
        employer = self.cast.employer
        amara = await self._app(
            "ShortlistApplication",
            app.ShortlistApplicationRequest(
                application_id=self.apps["Amara"].id, expected_version=self.apps["Amara"].version
            ),
            employer,
        )
        for name, current in (
            ("Amara", amara),
            ("Bo", self.apps["Bo"]),
            ("Dara", self.apps["Dara"]),
        ):
            self.apps[name] = await self._app(
                "ExtendOffer",
                app.ExtendOfferRequest(
                    application_id=current.id,
                    expected_version=current.version,
                    message="We would love to work with you.",
                ),
                employer,
            )
        self.apps["Eli"] = await self._app(
            "RejectApplication",
            app.RejectApplicationRequest(
                application_id=self.apps["Eli"].id,
                expected_version=self.apps["Eli"].version,
                reason="We went with a candidate with more print experience.",
            ),
            employer,
        )
        dara = self.apps["Dara"]
        self.apps["Dara"] = await self._app(
            "DeclineOffer",
            app.DeclineOfferRequest(
                application_id=dara.id, expected_version=dara.version, reason="Exams that week"
            ),
            self.student["Dara"].user,
        )
        return "offers to Amara (shortlisted), Bo and Dara; Dara declined; Eli rejected; Chen waits"

    async def offers_accepted(self) -> str:
        for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
            current = self.apps[name]
            reply = await self._call(
                "applications",
                "AcceptOffer",
                app.AcceptOfferRequest(application_id=current.id, expected_version=current.version),
                self.student[name].user,
            )
            self.apps[name], self.engs[key] = reply.application, reply.engagement
        return (
            f"engagements {self.engs['dashboard-1'].id} (Amara) and {self.engs['dashboard-2'].id} "
            "(Bo) ACTIVE; escrow funded"
        )

    async def no_ghosting(self) -> str:
        chen = self.student["Chen"]
        moved = read_clock_offset(self.clock_file) + RESPONSE_SLA_PASSED
        write_clock_offset(self.clock_file, moved)
        self.facts.clock_moved_days += RESPONSE_SLA_PASSED / timedelta(days=1)
        expired = await self._application_in(
            "Chen", AppStatus.APPLICATION_STATUS_EXPIRED, chen.user
        )
        await self._notified(chen.user, "Your application expired")
        return (
            f"platform clock +{RESPONSE_SLA_PASSED.days} days: Chen's application {expired.id} "
            "EXPIRED; Chen was told (no ghosting)"
        )

    async def _submit(self, key: str, student: Student) -> Eng:
        current = self.engs[key]
        checklist = [
            app_resources.CriterionCheck(criterion=c, met=True, comment="see the repository")
            for c in current.acceptance_criteria
        ]
        self.engs[key] = await self._eng(
            "SubmitDeliverable",
            app.SubmitDeliverableRequest(
                engagement_id=current.id,
                expected_version=current.version,
                note="Dashboard and tests are in the repository.",
                links=["https://git.example.org/northwind/dashboard"],
                checklist=checklist,
            ),
            student.user,
        )
        return self.engs[key]

    async def _revision(self, key: str) -> Eng:
        current = self.engs[key]
        self.engs[key] = await self._eng(
            "RequestRevision",
            app.RequestRevisionRequest(
                engagement_id=current.id,
                expected_version=current.version,
                reason="Please add a totals row.",
            ),
            self.cast.employer,
        )
        return self.engs[key]

    async def revision_then_approval(self) -> str:
        amara = self.student["Amara"]
        await self._submit("dashboard-1", amara)
        await self._revision("dashboard-1")
        submitted = await self._submit("dashboard-1", amara)
        self.facts.traces["approval"] = self.gw.new_trace()
        self.engs["dashboard-1"] = await self._eng(
            "ApproveDeliverable",
            app.ApproveDeliverableRequest(
                engagement_id=submitted.id, expected_version=submitted.version
            ),
            self.cast.employer,
        )
        self.facts.engagements["Amara"] = EngStatus.Name(self.engs["dashboard-1"].status)
        return f"submitted, revision requested, resubmitted, APPROVED (trace {self.gw.trace_id})"

    async def dispute(self) -> str:
        bo = self.student["Bo"]
        await self._submit("dashboard-2", bo)
        revising = await self._revision("dashboard-2")
        disputed = await self._eng(
            "OpenDispute",
            app.OpenDisputeRequest(
                engagement_id=revising.id,
                expected_version=revising.version,
                reason="The totals row was not in the brief.",
            ),
            bo.user,
        )
        self.facts.traces["dispute resolution"] = self.gw.new_trace()
        self.engs["dashboard-2"] = await self._eng(
            "ResolveDispute",
            app.ResolveDisputeRequest(
                engagement_id=disputed.id,
                expected_version=disputed.version,
                payout_percent=60,
                resolution="Most of the brief was delivered; the totals row was extra.",
            ),
            self.cast.admin,
        )
        resolved = self.engs["dashboard-2"]
        self.facts.engagements["Bo"] = EngStatus.Name(resolved.status)
        return (
            f"Bo disputed the revision request; admin resolved at {resolved.payout_percent}% "
            f"({EngStatus.Name(resolved.status)}, trace {self.gw.trace_id})"
        )

    async def payouts(self) -> str:
        amara, bo = self.student["Amara"], self.student["Bo"]
        paid = await self._payout_in("dashboard-1", PayoutStatus.PAYOUT_STATUS_PAID, amara.user)
        await self._engagement_in("dashboard-1", EngStatus.ENGAGEMENT_STATUS_PAID, amara.user)
        self.facts.payouts["Amara"] = f"PAID {money(paid.amount)}"
        held = await self._payout_in("dashboard-2", PayoutStatus.PAYOUT_STATUS_HELD, bo.user)
        await self._notified(bo.user, "Register a payout account")
        self.facts.traces["payout release"] = self.gw.new_trace()
        await self._register_account(bo)
        released = await self._payout_in("dashboard-2", PayoutStatus.PAYOUT_STATUS_PAID, bo.user)
        await self._engagement_in("dashboard-2", EngStatus.ENGAGEMENT_STATUS_PAID, bo.user)
        for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
            self.facts.engagements[name] = EngStatus.Name(self.engs[key].status)
        self.facts.payouts["Bo"] = (
            f"HELD {money(held.amount)} until Bo registered an account, then PAID "
            f"{money(released.amount)}"
        )
        return (
            f"Amara PAID {money(paid.amount)}; Bo's {released.payout_percent}% "
            f"{money(held.amount)} HELD, account registered, PAID"
        )

    async def ledger(self) -> str:
        """The org's double-entry ledger as the employer sees it: balanced, and what moved."""
        request = payouts.GetLedgerRequest(employer_org_id=self.cast.org, page_size=100)
        reply = await self._call("payouts", "GetLedger", request, self.cast.employer)
        entries = list(reply.entries)
        if sum(e.amount_minor for e in entries) != 0:
            raise StepFailed(f"the ledger of {self.cast.org} does not balance")
        account = payout_resources.LedgerAccount
        receivable = [
            e.amount_minor
            for e in entries
            if e.account == account.LEDGER_ACCOUNT_EMPLOYER_RECEIVABLE
        ]
        total = {
            "escrowed": sum(a for a in receivable if a > 0),
            "refunded": -sum(a for a in receivable if a < 0),
            "paid to students": -sum(
                e.amount_minor for e in entries if e.account == account.LEDGER_ACCOUNT_CASH
            ),
            "platform fees": -sum(
                e.amount_minor
                for e in entries
                if e.account == account.LEDGER_ACCOUNT_PLATFORM_REVENUE
            ),
        }
        currency = entries[0].currency if entries else "USD"
        self.facts.ledger = {k: f"{v} {currency}" for k, v in total.items()}
        moved = ", ".join(f"{k} {v}" for k, v in self.facts.ledger.items())
        return f"{len(entries)} entries, balanced (sum 0): {moved} (minor units)"

    async def feedback(self) -> str:
        key, amara, employer = "dashboard-1", self.student["Amara"], self.cast.employer
        for user, rating, text in (
            (employer, 5, "Clear, tested work; a pleasure."),
            (amara.user, 5, "Quick answers and a clear brief."),
        ):
            await self._call(
                "applications",
                "LeaveFeedback",
                app.LeaveFeedbackRequest(engagement_id=self.engs[key].id, rating=rating, text=text),
                user,
            )
        await self._notified(amara.user, "Feedback published")
        return "employer and Amara rated each other 5/5: feedback published (double-blind)"

    async def completion_records(self) -> str:
        keys = (
            await self._call("applications", "ListSigningKeys", app.ListSigningKeysRequest(), None)
        ).keys
        public = {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in keys}
        lines = []
        for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
            request = app.GetCompletionRecordRequest(engagement_id=self.engs[key].id)
            reply = await self._call(
                "applications", "GetCompletionRecord", request, self.student[name].user
            )
            record = reply.record
            verified = await self._call(
                "applications",
                "VerifyCompletionRecord",
                app.VerifyCompletionRecordRequest(record=record),
                None,
            )
            if not verified.valid:
                raise StepFailed(f"{name}'s completion record is not valid: {verified.reason}")
            try:
                public[record.key_id].verify(record.signature, record.claim_bytes)
            except (KeyError, InvalidSignature) as refused:
                raise StepFailed(
                    f"{name}'s record fails offline verification: {refused!r}"
                ) from None
            tampered = app_resources.CompletionRecord()
            tampered.CopyFrom(record)
            tampered.claim_bytes = record.claim_bytes + b" "
            check = await self._call(
                "applications",
                "VerifyCompletionRecord",
                app.VerifyCompletionRecordRequest(record=tampered),
                None,
            )
            if check.valid:
                raise StepFailed("a tampered completion record was accepted")
            self.facts.records_verified.append(record.id)
            lines.append(f"{name} {record.id}")
        return (
            f"{', '.join(lines)}: valid by VerifyCompletionRecord and offline with Ed25519 key "
            f"{record.key_id} from ListSigningKeys; a tampered copy is refused"
        )

    async def webhook_received(self) -> str:
        engagement_id = self.engs["dashboard-1"].id

        async def arrived() -> list[dict[str, Any]] | None:
            mine = [
                e for e in self.university.events(COMPLETED) if e.get("subject") == engagement_id
            ]
            return mine or None

        events = await until(arrived, "the university's EngagementCompleted webhook", limit=45)
        self.facts.webhooks_verified = len(self.university.verified)
        record_id = events[0].get("data", {}).get("completion_record_id", "?")
        return (
            f"EngagementCompleted for {engagement_id} (record {record_id}) received, "
            f"signature verified with standardwebhooks"
        )

    async def emails(self) -> str:
        cast = self.cast
        expected = {
            cast.employer_email: ["Your listing was not approved", "New application"],
            **{s.email: ["New project matching your skills"] for s in cast.students},
        }
        expected[self.student["Chen"].email].append("Your application expired")
        expected[self.student["Bo"].email].append("Register a payout account")
        expected[self.student["Amara"].email] += ["You were paid", "Completion record issued"]
        expected[cast.admin_email] = ["Dispute to decide"]

        async def all_there() -> dict[str, list[str]] | None:
            got = {address: emails_to(self.maildir, address) for address in expected}
            missing = [s for a, subjects in expected.items() for s in subjects if s not in got[a]]
            return None if missing else got

        self.facts.emails = await until(all_there, f"emails in {self.maildir}", limit=45)
        total = sum(len(v) for v in self.facts.emails.values())
        return f"{total} emails to the 8 people read back from {self.maildir}"
