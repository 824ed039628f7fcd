"""Steps: applications, decisions and offers, and an application left to expire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from stint.applications.v1 import service_pb2 as app
from stint_runtime.clock import read_clock_offset, write_clock_offset

from tools.demo.context import (
    NOT_YET,
    RESPONSE_SLA_PASSED,
    App,
    AppStatus,
    Demo,
)
from tools.demo.gateway import User, until


async def applications(demo: Demo) -> str:
    dashboard_id = demo.listing["Sales dashboard in Python"].id
    brand_id = demo.listing["Refresh our brand kit"].id
    plan = [("Amara", dashboard_id), ("Bo", dashboard_id), ("Chen", dashboard_id)]
    plan += [("Dara", brand_id), ("Eli", brand_id)]
    for name, listing_id in plan:
        request = app.ApplyRequest(listing_id=listing_id, cover_letter=f"Hi, I am {name}.")
        user = demo.student[name].user

        async def applied(request: Any = request, user: User = user) -> App | None:
            return await demo.application_rpc("Apply", request, user)

        # The applications service learns of a listing from listings.v1: NOT_FOUND until then.
        demo.apps[name] = await until(applied, f"{name} applies", retry_codes=NOT_YET)
    return "Amara, Bo and Chen applied to the dashboard; Dara and Eli to the brand kit"


async def decisions(demo: Demo) -> str:
    employer = demo.cast.employer
    amara = await demo.application_rpc(
        "ShortlistApplication",
        app.ShortlistApplicationRequest(
            application_id=demo.apps["Amara"].id, expected_version=demo.apps["Amara"].version
        ),
        employer,
    )
    for name, current in (
        ("Amara", amara),
        ("Bo", demo.apps["Bo"]),
        ("Dara", demo.apps["Dara"]),
    ):
        demo.apps[name] = await demo.application_rpc(
            "ExtendOffer",
            app.ExtendOfferRequest(
                application_id=current.id,
                expected_version=current.version,
                message="We would love to work with you.",
            ),
            employer,
        )
    demo.apps["Eli"] = await demo.application_rpc(
        "RejectApplication",
        app.RejectApplicationRequest(
            application_id=demo.apps["Eli"].id,
            expected_version=demo.apps["Eli"].version,
            reason="We went with a candidate with more print experience.",
        ),
        employer,
    )
    dara = demo.apps["Dara"]
    demo.apps["Dara"] = await demo.application_rpc(
        "DeclineOffer",
        app.DeclineOfferRequest(
            application_id=dara.id, expected_version=dara.version, reason="Exams that week"
        ),
        demo.student["Dara"].user,
    )
    return "offers to Amara (shortlisted), Bo and Dara; Dara declined; Eli rejected; Chen waits"


async def offers_accepted(demo: Demo) -> str:
    for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo")):
        current = demo.apps[name]
        reply = await demo.call(
            "applications",
            "AcceptOffer",
            app.AcceptOfferRequest(application_id=current.id, expected_version=current.version),
            demo.student[name].user,
        )
        demo.apps[name], demo.engs[key] = reply.application, reply.engagement
    return (
        f"engagements {demo.engs['dashboard-1'].id} (Amara) and {demo.engs['dashboard-2'].id} "
        "(Bo) ACTIVE; escrow funded"
    )


async def no_ghosting(demo: Demo) -> str:
    chen = demo.student["Chen"]
    moved = read_clock_offset(demo.clock_file) + RESPONSE_SLA_PASSED
    write_clock_offset(demo.clock_file, moved)
    demo.facts.clock_moved_days += RESPONSE_SLA_PASSED / timedelta(days=1)
    expired = await demo.application_in("Chen", AppStatus.APPLICATION_STATUS_EXPIRED, chen.user)
    await demo.notified(chen.user, "Your application expired")
    return (
        f"platform clock +{RESPONSE_SLA_PASSED.days} days: Chen's application {expired.id} "
        "EXPIRED; Chen was told (no ghosting)"
    )
