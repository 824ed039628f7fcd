"""Twenty students accept offers for the last seat at once: exactly one engagement starts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pymongo.errors import OperationFailure, PyMongoError
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.service_layer import handlers
from stint_runtime.errors import ConcurrencyConflict, FailedPrecondition
from stint_runtime.persistence.unit_of_work import OUTBOX

from tests.applications.integration.kit import engage, new_listing, offer, student

pytestmark = pytest.mark.integration
RACERS = 20


def test_twenty_acceptances_for_one_remaining_seat(app: ApplicationsApp) -> None:
    listing_id = new_listing(app, seats=2)
    engage(app, listing_id, student())  # one of two seats taken: one remains
    racers = [student(n) for n in range(RACERS)]
    offers = [offer(app, listing_id, who) for who in racers]

    def accept(n: int) -> str:
        try:
            app.run(handlers.accept_offer, c.AcceptOffer(racers[n], offers[n], 3))
        except (FailedPrecondition, ConcurrencyConflict) as refused:
            return type(refused).__name__
        except PyMongoError as exc:  # a write conflict that kept recurring through the retries
            return "transient" if exc.has_error_label("TransientTransactionError") else repr(exc)
        return "won"

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(accept, range(RACERS)))

    assert outcomes.count("won") == 1, outcomes
    refusals = {"FailedPrecondition", "ConcurrencyConflict", "transient"}
    assert set(outcomes) - {"won"} <= refusals, outcomes
    db = app.uow_factory.db
    assert db["engagements"].count_documents({"listing_id": listing_id}) == 2
    seats = db["seats"].find_one({"_id": listing_id})
    assert seats is not None
    assert len(seats["holders"]) == seats["taken"] == 2
    accepted = db["applications"].count_documents({"listing_id": listing_id, "status": "ACCEPTED"})
    assert accepted == 2
    started = db[OUTBOX].count_documents(
        {"type": "stint.applications.v1.EngagementStarted", "key": {"$in": seats["holders"]}}
    )
    assert started == 2


def test_two_interleaved_units_cannot_both_take_the_last_seat(app: ApplicationsApp) -> None:
    """The version check itself, with both units open at once (no scheduling luck involved)."""
    listing_id = new_listing(app, seats=1)
    first, second = student(1), student(2)
    offers = [offer(app, listing_id, first), offer(app, listing_id, second)]
    with app.uow_factory() as uow_a, app.uow_factory() as uow_b:
        app.in_unit(uow_a, handlers.accept_offer, c.AcceptOffer(first, offers[0], 3))
        # A lost race: our version check, or the server's write conflict on the same document.
        with pytest.raises((ConcurrencyConflict, OperationFailure)) as lost:
            app.in_unit(uow_b, handlers.accept_offer, c.AcceptOffer(second, offers[1], 3))
        uow_a.commit()
    assert isinstance(lost.value, ConcurrencyConflict) or (
        isinstance(lost.value, OperationFailure)
        and lost.value.has_error_label("TransientTransactionError")
    ), lost.value
    assert app.uow_factory.db["engagements"].count_documents({"listing_id": listing_id}) == 1
