"""The two projects the employer posts (and the first draft moderation sends back)."""

from __future__ import annotations

from datetime import datetime, timedelta

from stint.common.v1.money_pb2 import Money
from stint.listings.v1 import resources_pb2
from stint_runtime.proto_values import timestamp

DAY = timedelta(days=1)
DASHBOARD_FEE = Money(amount_minor=60_000, currency="USD")
BRAND_FEE = Money(amount_minor=30_000, currency="USD")


def dashboard(now: datetime) -> resources_pb2.ListingContent:
    """Three seats, so one application can stay undecided without the listing filling."""
    return resources_pb2.ListingContent(
        title="Sales dashboard in Python",
        description="Turn our monthly sales exports into a small dashboard with tests.",
        skills=["python", "sql"],
        industry="retail",
        deliverables=[
            resources_pb2.Deliverable(
                title="Dashboard",
                acceptance_criteria=["Shows revenue per month", "Loads in under 2 seconds"],
            ),
            resources_pb2.Deliverable(title="Tests", acceptance_criteria=["Has unit tests"]),
        ],
        estimated_hours=20,
        fee=DASHBOARD_FEE,
        seats=3,
        application_deadline=timestamp(now + 20 * DAY),
        due_date=timestamp(now + 40 * DAY),
        remote=True,
    )


def brand_kit(now: datetime, *, fixed: bool) -> resources_pb2.ListingContent:
    """The first draft has criteria nobody can check; moderation rejects it, the fix names them."""
    criteria = (
        ["Logo in SVG and PNG", "Colour palette with contrast ratios"] if fixed else ["Looks good"]
    )
    return resources_pb2.ListingContent(
        title="Refresh our brand kit",
        description="A refreshed logo, palette and type scale for our shop.",
        skills=["design", "figma"],
        industry="retail",
        deliverables=[resources_pb2.Deliverable(title="Brand kit", acceptance_criteria=criteria)],
        estimated_hours=10,
        fee=BRAND_FEE,
        seats=1,
        application_deadline=timestamp(now + 20 * DAY),
        due_date=timestamp(now + 40 * DAY),
        remote=True,
    )
