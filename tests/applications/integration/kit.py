"""Steps the integration tests share: listing snapshots, offers, engagements, the outbox."""

from __future__ import annotations

import uuid
from typing import Any

from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.service_layer import handlers
from stint_runtime.persistence.unit_of_work import OUTBOX

from tests.applications.builders import ANSWERS, EMPLOYER, listing


def student(n: int = 0) -> c.Actor:
    return c.Actor(f"stu-{uuid.uuid4().hex[:6]}-{n}", "student")


def new_listing(app: ApplicationsApp, **changes: Any) -> str:
    listing_id = f"l-{uuid.uuid4().hex[:8]}"
    app.run(handlers.record_listing, c.RecordListing(listing(listing_id, **changes)))
    return listing_id


def apply(app: ApplicationsApp, listing_id: str, who: c.Actor) -> str:
    return app.run(handlers.apply, c.Apply(who, listing_id, "Hi", ANSWERS)).id


def offer(app: ApplicationsApp, listing_id: str, who: c.Actor) -> str:
    application_id = apply(app, listing_id, who)
    app.run(handlers.shortlist_application, c.ShortlistApplication(EMPLOYER, application_id, 1))
    app.run(handlers.extend_offer, c.ExtendOffer(EMPLOYER, application_id, 2))
    return application_id


def engage(app: ApplicationsApp, listing_id: str, who: c.Actor) -> str:
    application_id = offer(app, listing_id, who)
    accepted = app.run(handlers.accept_offer, c.AcceptOffer(who, application_id, 3))
    return accepted.engagement.id


def outbox(app: ApplicationsApp, subject: str) -> list[tuple[str, int]]:
    """(event type short name, sequence) of the aggregate's staged events, in order."""
    records = app.uow_factory.db[OUTBOX].find({"key": subject}).sort("sequence", 1)
    return [(r["type"].rsplit(".", 1)[-1], r["sequence"]) for r in records]
