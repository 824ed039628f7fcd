"""Idempotency keys against real transactions: cancelled calls, lease takeover, lost responses.

Calls are held inside their transaction at a barrier (the probe's "hold:<name>" titles) and the
lease runs on a ManualClock, so "still running" and "lease ended" are states the test sets up,
not races against fixed sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from stint.listings.v1 import service_pb2_grpc
from stint_runtime.clock import ManualClock
from stint_runtime.errors import ConcurrencyConflict
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.grpc.idempotency import (
    ALREADY_APPLIED,
    COLLECTION,
    IdempotencyStore,
    Reservation,
    record_id,
)
from stint_runtime.service import ServiceApp
from stint_runtime.settings import StintSettings

from tests.support.grpc_listings import create_request
from tests.support.service_probe import PROBES, build, entered, release
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SUBJECT = "emp-1"


LEASE = timedelta(seconds=30)


@pytest.fixture
async def app(probe_settings: StintSettings) -> AsyncIterator[ServiceApp]:
    settings = probe_settings.model_copy(
        update={"idempotency_lease_seconds": int(LEASE.total_seconds())}
    )
    service = ServiceApp(settings, build, clock=ManualClock(datetime.now(UTC)))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def stored_titles(app: ServiceApp, title: str) -> int:
    assert app.runtime is not None
    probes = app.runtime.units.db[PROBES]
    return await asyncio.to_thread(probes.count_documents, {"title": title})


def metadata_for(app: ServiceApp, key: str) -> tuple[tuple[str, str], ...]:
    token = mint_token(app.settings, sub=SUBJECT, role="employer", org="org-1")
    return call_metadata(token=token, idempotency_key=key)


async def test_a_call_cancelled_while_it_runs_is_recorded_and_never_run_again(
    app: ServiceApp,
) -> None:
    assert app.runtime is not None
    db = app.runtime.units.db
    metadata = metadata_for(app, new_idempotency_key())
    request = create_request(title="hold:cancelled")
    async with insecure_channel(app.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        call = stub.CreateListing(request, metadata=metadata)
        await entered(db, "cancelled")
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # The work goes on in its worker thread; meanwhile a replay is refused, not run again.
        with pytest.raises(grpc.aio.AioRpcError) as busy:
            await stub.CreateListing(request, metadata=metadata, timeout=10)
        assert busy.value.code() == grpc.StatusCode.ABORTED, busy.value.details()
        await release(db, "cancelled")
        await eventually(
            lambda: asyncio.to_thread(db[COLLECTION].find_one, {"state": "completed"}),
            what="the cancelled call's outcome to be recorded",
        )
        replayed = await stub.CreateListing(request, metadata=metadata)
    assert replayed.listing.title == "hold:cancelled"
    assert await stored_titles(app, "hold:cancelled") == 1


async def test_a_replay_after_the_lease_ended_takes_over_and_the_first_cannot_commit(
    app: ServiceApp,
) -> None:
    assert app.runtime is not None
    assert isinstance(app.clock, ManualClock)
    db = app.runtime.units.db
    metadata = metadata_for(app, new_idempotency_key())
    request = create_request(title="hold:taken-over")
    async with insecure_channel(app.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        first = asyncio.ensure_future(stub.CreateListing(request, metadata=metadata))
        await entered(db, "taken-over")
        app.clock.advance(LEASE + timedelta(seconds=1))
        replay = asyncio.ensure_future(stub.CreateListing(request, metadata=metadata))
        await entered(db, "taken-over", times=2)  # the replay took the lease and runs too
        await release(db, "taken-over")
        replayed = await replay
        with pytest.raises(grpc.aio.AioRpcError) as lost:
            await first
    assert lost.value.code() == grpc.StatusCode.ABORTED, lost.value.details()
    assert replayed.listing.title == "hold:taken-over"
    assert await stored_titles(app, "hold:taken-over") == 1


def test_a_request_whose_lease_was_taken_over_cannot_commit(app: ServiceApp) -> None:
    assert app.runtime is not None
    units = app.runtime.units
    store = IdempotencyStore(
        units.db[COLLECTION], ttl_seconds=3600, lease_seconds=1, clock=app.clock
    )
    first = store.reserve(SUBJECT, "taken-over", "CreateListing#same")
    assert isinstance(first, Reservation)
    store.collection.update_one(
        {"_id": first.record_id}, {"$set": {"lease_until": app.clock.now()}}
    )
    second = store.reserve(SUBJECT, "taken-over", "CreateListing#same")  # the lease had ended
    assert isinstance(second, Reservation)
    assert second.owner != first.owner

    def create(title: str) -> None:
        units.run(lambda uow: uow.insert(PROBES, {"_id": title, "title": title}))

    with store.acting_for(first), pytest.raises(ConcurrencyConflict):
        create("by-the-first")
    with store.acting_for(second):
        create("by-the-second")
    stored = units.db[PROBES].find({"_id": {"$in": ["by-the-first", "by-the-second"]}})
    assert [doc["_id"] for doc in stored] == ["by-the-second"]
    assert units.db[COLLECTION].find_one({"_id": second.record_id}, {"applied": 1}) == {
        "_id": second.record_id,
        "applied": True,
    }


async def test_an_applied_request_whose_response_was_lost_is_refused_not_rerun(
    app: ServiceApp,
) -> None:
    assert app.runtime is not None
    key = new_idempotency_key()
    token = mint_token(app.settings, sub=SUBJECT, role="employer", org="org-1")
    metadata = call_metadata(token=token, idempotency_key=key)
    async with insecure_channel(app.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        await stub.CreateListing(create_request(title="lost"), metadata=metadata)
        # What a crash between the commit and storing the response leaves behind:
        keys = app.runtime.units.db[COLLECTION]
        await asyncio.to_thread(
            keys.update_one,
            {"_id": record_id(SUBJECT, key)},
            {
                "$set": {"state": "pending", "lease_until": app.clock.now()},
                "$unset": {"response": ""},
            },
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateListing(create_request(title="lost"), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == ALREADY_APPLIED
    assert await stored_titles(app, "lost") == 1
