"""The listing repository and handlers on the real database: documents, versions, outbox, timers."""

from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure
from stint.common.v1.events_pb2 import EventEnvelope
from stint_listings.adapters.repository import LISTINGS, MongoListingRepository
from stint_listings.bootstrap import ListingsApp, bootstrap
from stint_listings.domain import commands as c
from stint_listings.domain.model import EXPIRE_TIMER, Listing, ListingStatus
from stint_listings.service_layer import handlers
from stint_runtime.clock import ManualClock
from stint_runtime.errors import ConcurrencyConflict, FailedPrecondition
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import TimerScanner, timer_due_at
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork

from tests.listings.builders import ADMIN, ORG, OWNER, content

pytestmark = pytest.mark.integration
S = ListingStatus


def _published(app: ListingsApp, seats: int = 2) -> Listing:
    listing = app.run(handlers.create_listing, c.CreateListing(OWNER, ORG, content(seats=seats)))
    app.run(handlers.submit_for_review, c.SubmitForReview(OWNER, listing.id, 1))
    app.run(handlers.approve_listing, c.ApproveListing(ADMIN, listing.id, 2))
    return app.run(handlers.publish_listing, c.PublishListing(OWNER, listing.id, 3))


def _outbox(app: ListingsApp, listing_id: str) -> list[tuple[str, int]]:
    records = app.uow_factory.db[OUTBOX].find({"key": listing_id}).sort("sequence", 1)
    return [(r["type"].rsplit(".", 1)[-1], r["sequence"]) for r in records]


def test_a_listing_round_trips_through_its_document(app: ListingsApp) -> None:
    listing = _published(app, seats=3)
    app.run(handlers.take_seat, c.TakeSeat(listing.id, "e-1"))
    stored = app.run(handlers.get_listing, c.GetListing(OWNER, listing.id))
    assert stored.seat_holders == frozenset({"e-1"})
    assert (stored.status, stored.version, stored.reviewed_by) == (S.PUBLISHED, 5, ADMIN.subject)
    assert stored.content == listing.content
    assert stored.publish_time == listing.publish_time


def test_waiting_engagements_round_trip_in_order(app: ListingsApp) -> None:
    listing = _published(app, seats=1)
    for engagement in ("e-1", "e-3", "e-2"):
        app.run(handlers.take_seat, c.TakeSeat(listing.id, engagement))
    stored = app.run(handlers.get_listing, c.GetListing(OWNER, listing.id))
    assert (stored.seat_holders, stored.seat_waiting) == (frozenset({"e-1"}), ("e-3", "e-2"))
    assert (stored.status, stored.seats_filled) == (S.FILLED, 1)


def test_a_document_written_before_waiting_existed_loads_with_no_one_waiting(
    app: ListingsApp,
) -> None:
    listing = _published(app, seats=1)
    app.uow_factory.db[LISTINGS].update_one({"_id": listing.id}, {"$unset": {"seat_waiting": ""}})
    app.run(handlers.take_seat, c.TakeSeat(listing.id, "e-1"))
    stored = app.run(handlers.get_listing, c.GetListing(OWNER, listing.id))
    assert (stored.seat_holders, stored.seat_waiting) == (frozenset({"e-1"}), ())


def test_state_and_events_land_together_in_the_outbox(app: ListingsApp) -> None:
    listing = _published(app)
    assert _outbox(app, listing.id) == [
        ("ListingSubmitted", 2),
        ("ListingApproved", 3),
        ("ListingPublished", 4),
    ]
    [record] = app.uow_factory.db[OUTBOX].find({"key": listing.id, "sequence": 4})
    envelope = EventEnvelope.FromString(record["envelope"])
    assert (record["topic"], envelope.subject) == ("listings.v1", listing.id)


def test_a_failed_handler_leaves_neither_state_nor_events(app: ListingsApp) -> None:
    listing = _published(app)

    def close_then_fail(uow: UnitOfWork) -> None:
        repository = MongoListingRepository(uow)
        loaded = repository.get(listing.id)
        assert loaded is not None
        loaded.close("done", app.context.now())
        repository.save(loaded)
        loaded.close("again", app.context.now())  # CLOSED cannot close: the unit aborts

    with pytest.raises(FailedPrecondition):
        app.uow_factory.run(close_then_fail)
    stored = app.run(handlers.get_listing, c.GetListing(OWNER, listing.id))
    assert (stored.status, stored.version) == (S.PUBLISHED, 4)
    assert _outbox(app, listing.id) == [
        ("ListingSubmitted", 2),
        ("ListingApproved", 3),
        ("ListingPublished", 4),
    ]


def test_two_updates_from_the_same_version_one_conflicts(app: ListingsApp) -> None:
    listing = app.run(handlers.create_listing, c.CreateListing(OWNER, ORG, content()))
    first = c.UpdateListing(OWNER, listing.id, 1, content(title="First"))
    second = c.UpdateListing(OWNER, listing.id, 1, content(title="Second"))
    app.run(handlers.update_listing, first)
    with pytest.raises(ConcurrencyConflict):
        app.run(handlers.update_listing, second)
    assert app.run(handlers.get_listing, c.GetListing(OWNER, listing.id)).content.title == "First"


def test_two_units_saving_the_same_loaded_version_one_conflicts(app: ListingsApp) -> None:
    listing = app.run(handlers.create_listing, c.CreateListing(OWNER, ORG, content()))
    with app.uow_factory() as uow_a, app.uow_factory() as uow_b:
        a, b = MongoListingRepository(uow_a), MongoListingRepository(uow_b)
        loaded_a, loaded_b = a.get(listing.id), b.get(listing.id)
        assert loaded_a is not None
        assert loaded_b is not None
        loaded_a.update(content(title="A"), app.context.rules, app.context.now())
        a.save(loaded_a)
        uow_a.commit()
        loaded_b.update(content(title="B"), app.context.rules, app.context.now())
        # A lost race: our version check, or the server's write conflict on the same document.
        with pytest.raises((ConcurrencyConflict, OperationFailure)) as lost:
            b.save(loaded_b)
        assert isinstance(lost.value, ConcurrencyConflict) or (
            isinstance(lost.value, OperationFailure)
            and lost.value.has_error_label("TransientTransactionError")
        ), lost.value
    stored = app.run(handlers.get_listing, c.GetListing(OWNER, listing.id))
    assert (stored.content.title, stored.version) == ("A", 2)


@pytest.fixture
def own_app(mongo: Client, clock: ManualClock, unique_name: str) -> ListingsApp:
    """A database of the test's own: the scanner sees no other test's listings."""
    return bootstrap(mongo, unique_name, clock)


def test_the_expiry_timer_follows_the_state(own_app: ListingsApp, clock: ManualClock) -> None:
    app = own_app
    listing = _published(app, seats=1)
    deadline = listing.content.application_deadline
    document = app.uow_factory.db[LISTINGS].find_one({"_id": listing.id})
    assert document is not None
    assert timer_due_at(document, EXPIRE_TIMER) == deadline

    app.run(handlers.take_seat, c.TakeSeat(listing.id, "e-1"))
    document = app.uow_factory.db[LISTINGS].find_one({"_id": listing.id})
    assert document is not None
    assert timer_due_at(document, EXPIRE_TIMER) is None

    scanner = TimerScanner(app.uow_factory, LISTINGS, app.timer_handlers(), clock)
    clock.set(deadline)
    assert scanner.fire_due() == 0  # a FILLED listing keeps running past its deadline
    assert app.run(handlers.get_listing, c.GetListing(OWNER, listing.id)).status is S.FILLED
    app.run(handlers.free_seat, c.FreeSeat(listing.id, "e-1"))
    assert scanner.fire_due() == 1  # reopened after the deadline: expires at once

    assert app.run(handlers.get_listing, c.GetListing(OWNER, listing.id)).status is S.EXPIRED
    assert _outbox(app, listing.id)[-3:] == [
        ("ListingFilled", 5),
        ("ListingReopened", 6),
        ("ListingExpired", 7),
    ]
