"""Re-applying on the real database: the active-application index lets a student apply again
after an ending, and still refuses two active applications even when the service-layer check
is bypassed (two racing Apply calls)."""

from __future__ import annotations

import dataclasses

import pytest
from stint_applications.adapters.repository import MongoApplicationRepository
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.domain.application import Application, ApplicationStatus
from stint_applications.service_layer import handlers
from stint_runtime.errors import AlreadyExists

from tests.applications.builders import NOW
from tests.applications.integration.kit import apply, new_listing, student

pytestmark = pytest.mark.integration


def test_a_withdrawn_application_makes_room_for_another(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    first = apply(app, listing_id, who)
    app.run(handlers.withdraw_application, c.WithdrawApplication(who, first, 1))
    second = apply(app, listing_id, who)
    stored = app.run(handlers.get_application, c.GetApplication(who, second))
    assert (stored.status, stored.terms is not None) == (ApplicationStatus.SUBMITTED, True)
    assert stored.terms is not None
    assert stored.terms.title == "Build a React dashboard"
    count = app.uow_factory.db["applications"].count_documents({"listing_id": listing_id})
    assert count == 2


def test_the_index_refuses_a_second_active_application(app: ApplicationsApp) -> None:
    listing_id = new_listing(app)
    who = student()
    first = apply(app, listing_id, who)
    stored = app.run(handlers.get_application, c.GetApplication(who, first))
    racer: Application = dataclasses.replace(stored, id="racer", version=1, create_time=NOW)

    def add(uow: object) -> None:
        MongoApplicationRepository(uow).add(racer)  # type: ignore[arg-type]

    with pytest.raises(AlreadyExists, match="still active"):
        app.uow_factory.run(add)
