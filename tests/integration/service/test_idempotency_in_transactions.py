"""Idempotency keys against real transactions: cancelled calls, lease takeover, lost responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from stint.listings.v1 import service_pb2_grpc
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
from tests.support.service_probe import PROBES, build

pytestmark = pytest.mark.integration

SUBJECT = "emp-1"


@pytest.fixture
async def app(probe_settings: StintSettings) -> AsyncIterator[ServiceApp]:
    service = ServiceApp(probe_settings.model_copy(update={"idempotency_lease_seconds": 1}), build)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def stored_titles(app: ServiceApp, title: str) -> int:
    assert app.runtime is not None
    probes = app.runtime.units.db[PROBES]
    return await asyncio.to_thread(probes.count_documents, {"title": title})


async def test_a_call_cancelled_by_its_deadline_is_recorded_and_never_run_again(
    app: ServiceApp,
) -> None:
    token = mint_token(app.settings, sub=SUBJECT, role="employer", org="org-1")
    metadata = call_metadata(token=token, idempotency_key=new_idempotency_key())
    request = create_request(title="slow:1.5")
    async with insecure_channel(app.address) as channel:
        stub = service_pb2_grpc.ListingsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as cancelled:
            await stub.CreateListing(request, metadata=metadata, timeout=0.3)
        assert cancelled.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # The work goes on in its worker thread, commits, and its outcome is recorded.
        assert app.runtime is not None
        keys = app.runtime.units.db[COLLECTION]
        for _ in range(200):
            record = await asyncio.to_thread(keys.find_one, {"state": "completed"})
            if record is not None:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the cancelled call's outcome was never recorded")
        replayed = await stub.CreateListing(request, metadata=metadata)
    assert replayed.listing.title == "slow:1.5"
    assert await stored_titles(app, "slow:1.5") == 1


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
                "$set": {"state": "pending", "lease_until": datetime.now(UTC)},
                "$unset": {"response": ""},
            },
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateListing(create_request(title="lost"), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.value.details() == ALREADY_APPLIED
    assert await stored_titles(app, "lost") == 1
