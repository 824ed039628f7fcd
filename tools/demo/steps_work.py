"""Steps: two engagements (a revision, a dispute), payouts, the ledger, feedback."""

from __future__ import annotations

from stint.applications.v1 import resources_pb2 as app_resources
from stint.applications.v1 import service_pb2 as app
from stint.payouts.v1 import resources_pb2 as payout_resources
from stint.payouts.v1 import service_pb2 as payouts

from tools.demo.context import (
    Demo,
    Eng,
    EngStatus,
    PayoutStatus,
    money,
)
from tools.demo.gateway import StepFailed
from tools.demo.people import Student


async def _submit(demo: Demo, key: str, student: Student) -> Eng:
    current = demo.engs[key]
    checklist = [
        app_resources.CriterionCheck(criterion=c, met=True, comment="see the repository")
        for c in current.acceptance_criteria
    ]
    demo.engs[key] = await demo.engagement_rpc(
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
    return demo.engs[key]


async def _revision(demo: Demo, key: str) -> Eng:
    current = demo.engs[key]
    demo.engs[key] = await demo.engagement_rpc(
        "RequestRevision",
        app.RequestRevisionRequest(
            engagement_id=current.id,
            expected_version=current.version,
            reason="Please add a totals row.",
        ),
        demo.cast.employer,
    )
    return demo.engs[key]


async def revision_then_approval(demo: Demo) -> str:
    amara = demo.student["Amara"]
    await _submit(demo, "dashboard-1", amara)
    await _revision(demo, "dashboard-1")
    submitted = await _submit(demo, "dashboard-1", amara)
    demo.facts.traces["approval"] = demo.gw.new_trace()
    demo.engs["dashboard-1"] = await demo.engagement_rpc(
        "ApproveDeliverable",
        app.ApproveDeliverableRequest(
            engagement_id=submitted.id, expected_version=submitted.version
        ),
        demo.cast.employer,
    )
    demo.facts.engagements["Amara"] = EngStatus.Name(demo.engs["dashboard-1"].status)
    return f"submitted, revision requested, resubmitted, APPROVED (trace {demo.gw.trace_id})"


async def dispute(demo: Demo) -> str:
    bo = demo.student["Bo"]
    await _submit(demo, "dashboard-2", bo)
    revising = await _revision(demo, "dashboard-2")
    disputed = await demo.engagement_rpc(
        "OpenDispute",
        app.OpenDisputeRequest(
            engagement_id=revising.id,
            expected_version=revising.version,
            reason="The totals row was not in the brief.",
        ),
        bo.user,
    )
    demo.facts.traces["dispute resolution"] = demo.gw.new_trace()
    demo.engs["dashboard-2"] = await demo.engagement_rpc(
        "ResolveDispute",
        app.ResolveDisputeRequest(
            engagement_id=disputed.id,
            expected_version=disputed.version,
            payout_percent=60,
            resolution="Most of the brief was delivered; the totals row was extra.",
        ),
        demo.cast.admin,
    )
    resolved = demo.engs["dashboard-2"]
    demo.facts.engagements["Bo"] = EngStatus.Name(resolved.status)
    return (
        f"Bo disputed the revision request; admin resolved at {resolved.payout_percent}% "
        f"({EngStatus.Name(resolved.status)}, trace {demo.gw.trace_id})"
    )


async def payments(demo: Demo) -> str:
    amara, bo = demo.student["Amara"], demo.student["Bo"]
    paid = await demo.payout_in("dashboard-1", PayoutStatus.PAYOUT_STATUS_PAID, amara.user)
    await demo.engagement_in("dashboard-1", EngStatus.ENGAGEMENT_STATUS_PAID, amara.user)
    demo.facts.payouts["Amara"] = f"PAID {money(paid.amount)}"
    held = await demo.payout_in("dashboard-2", PayoutStatus.PAYOUT_STATUS_HELD, bo.user)
    await demo.notified(bo.user, "Register a payout account")
    demo.facts.traces["payout release"] = demo.gw.new_trace()
    await demo.register_account(bo)
    released = await demo.payout_in("dashboard-2", PayoutStatus.PAYOUT_STATUS_PAID, bo.user)
    await demo.engagement_in("dashboard-2", EngStatus.ENGAGEMENT_STATUS_PAID, bo.user)
    for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
        demo.facts.engagements[name] = EngStatus.Name(demo.engs[key].status)
    demo.facts.payouts["Bo"] = (
        f"HELD {money(held.amount)} until Bo registered an account, then PAID "
        f"{money(released.amount)}"
    )
    return (
        f"Amara PAID {money(paid.amount)}; Bo's {released.payout_percent}% "
        f"{money(held.amount)} HELD, account registered, PAID"
    )


async def ledger(demo: Demo) -> str:
    """The org's double-entry ledger as the employer sees it: balanced, and what moved."""
    request = payouts.GetLedgerRequest(employer_org_id=demo.cast.org, page_size=100)
    reply = await demo.call("payouts", "GetLedger", request, demo.cast.employer)
    entries = list(reply.entries)
    if sum(e.amount_minor for e in entries) != 0:
        raise StepFailed(f"the ledger of {demo.cast.org} does not balance")
    account = payout_resources.LedgerAccount
    receivable = [
        e.amount_minor for e in entries if e.account == account.LEDGER_ACCOUNT_EMPLOYER_RECEIVABLE
    ]
    total = {
        "escrowed": sum(a for a in receivable if a > 0),
        "refunded": -sum(a for a in receivable if a < 0),
        "paid to students": -sum(
            e.amount_minor for e in entries if e.account == account.LEDGER_ACCOUNT_CASH
        ),
        "platform fees": -sum(
            e.amount_minor for e in entries if e.account == account.LEDGER_ACCOUNT_PLATFORM_REVENUE
        ),
    }
    currency = entries[0].currency if entries else "USD"
    demo.facts.ledger = {k: f"{v} {currency}" for k, v in total.items()}
    moved = ", ".join(f"{k} {v}" for k, v in demo.facts.ledger.items())
    return f"{len(entries)} entries, balanced (sum 0): {moved} (minor units)"


async def feedback(demo: Demo) -> str:
    key, amara, employer = "dashboard-1", demo.student["Amara"], demo.cast.employer
    for user, rating, text in (
        (employer, 5, "Clear, tested work; a pleasure."),
        (amara.user, 5, "Quick answers and a clear brief."),
    ):
        await demo.call(
            "applications",
            "LeaveFeedback",
            app.LeaveFeedbackRequest(engagement_id=demo.engs[key].id, rating=rating, text=text),
            user,
        )
    await demo.notified(amara.user, "Feedback published")
    return "employer and Amara rated each other 5/5: feedback published (double-blind)"
