"""Mutating RPCs take an idempotency key per caller: the first outcome is replayed, a different
request with the same key is refused, two callers' keys never mix."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from pymongo.collection import Collection
from stint_runtime.clock import ManualClock
from stint_runtime.errors import FailedPrecondition
from stint_runtime.grpc.client import call_metadata
from stint_runtime.grpc.idempotency import (
    COLLECTION,
    IN_PROGRESS,
    KEY_REUSED,
    IdempotencyStore,
    Record,
    Reservation,
)
from stint_runtime.persistence.mongo import Client

from tests.integration.grpc.conftest import Harness
from tests.support.grpc_listings import DOMAIN_ERROR, SLOW, create_request

pytestmark = pytest.mark.integration


async def test_replayed_key_returns_the_identical_response_and_runs_once(harness: Harness) -> None:
    metadata = call_metadata(token=harness.token("employer"), idempotency_key="create-1")
    first = await harness.stub.CreateListing(create_request(), metadata=metadata)
    second = await harness.stub.CreateListing(create_request(), metadata=metadata)
    assert second == first
    assert second.SerializeToString(deterministic=True) == first.SerializeToString(
        deterministic=True
    )
    assert harness.servicer.calls["CreateListing"] == 1
    other_key = call_metadata(token=harness.token("employer"), idempotency_key="create-2")
    third = await harness.stub.CreateListing(create_request(), metadata=other_key)
    assert third.listing.id != first.listing.id


async def test_domain_errors_are_replayed_too(harness: Harness) -> None:
    metadata = call_metadata(token=harness.token("employer"), idempotency_key="refused-1")
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await harness.stub.CreateListing(create_request(DOMAIN_ERROR), metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert harness.servicer.calls["CreateListing"] == 1


async def test_same_key_with_another_request_is_refused(harness: Harness) -> None:
    metadata = call_metadata(token=harness.token("employer"), idempotency_key="create-1")
    await harness.stub.CreateListing(create_request("First title"), metadata=metadata)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(create_request("Second title"), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"idempotency-key: {KEY_REUSED}" == refused.value.details()
    assert harness.servicer.calls["CreateListing"] == 1


async def test_two_callers_with_the_same_key_never_see_each_others_responses(
    harness: Harness,
) -> None:
    alice = call_metadata(token=harness.token("employer", sub="alice"), idempotency_key="k")
    bob = call_metadata(token=harness.token("employer", sub="bob"), idempotency_key="k")
    for_alice = await harness.stub.CreateListing(create_request(), metadata=alice)
    for_bob = await harness.stub.CreateListing(create_request(), metadata=bob)
    assert for_alice.listing.created_by == "alice"
    assert for_bob.listing.created_by == "bob"
    assert harness.servicer.calls["CreateListing"] == 2
    assert await harness.stub.CreateListing(create_request(), metadata=alice) == for_alice


@pytest.mark.parametrize("key", [None, "", "x" * 129])
async def test_mutating_rpc_without_a_valid_key_is_invalid_argument(
    harness: Harness, key: str | None
) -> None:
    metadata = call_metadata(token=harness.token("employer"), idempotency_key=key)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(create_request(), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "idempotency-key" in (refused.value.details() or "")
    assert harness.servicer.calls["CreateListing"] == 0


async def test_concurrent_duplicate_is_aborted_while_the_first_runs(harness: Harness) -> None:
    metadata = call_metadata(token=harness.token("employer"), idempotency_key="slow-1")
    first = asyncio.ensure_future(
        harness.stub.CreateListing(create_request(SLOW), metadata=metadata)
    )
    await asyncio.wait_for(harness.servicer.entered.wait(), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(create_request(SLOW), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.ABORTED
    assert refused.value.details() == IN_PROGRESS
    harness.servicer.release.set()
    completed = await asyncio.wait_for(first, timeout=10)
    replayed = await harness.stub.CreateListing(create_request(SLOW), metadata=metadata)
    assert replayed == completed
    assert harness.servicer.calls["CreateListing"] == 1


async def test_an_unexpected_failure_releases_the_key_for_a_retry(harness: Harness) -> None:
    from tests.support.grpc_listings import BOOM

    metadata = call_metadata(token=harness.token("employer"), idempotency_key="boom-1")
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await harness.stub.CreateListing(create_request(BOOM), metadata=metadata)
        assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert harness.servicer.calls["CreateListing"] == 2


def test_records_expire_by_wall_clock_even_under_a_test_clock(
    mongo: Client, unique_name: str
) -> None:
    """The database's TTL monitor uses real time: a clock set in the past must not expire keys."""
    long_ago = ManualClock(datetime(2001, 1, 1, tzinfo=UTC))
    store = IdempotencyStore(
        mongo[unique_name][COLLECTION], ttl_seconds=3600, lease_seconds=60, clock=long_ago
    )
    store.ensure_indexes()
    reservation = store.reserve("emp-1", "key-1", "CreateListing#abc")
    assert isinstance(reservation, Reservation)
    record = store.collection.find_one({"_id": reservation.record_id}) or {}
    wall_clock_ttl = datetime.now(UTC) + timedelta(hours=1) - record["expires_at"]
    assert timedelta(0) <= wall_clock_ttl < timedelta(minutes=1)
    ttl_indexes = {
        tuple(spec["key"]): spec.get("expireAfterSeconds")
        for spec in store.collection.list_indexes()
        if "expireAfterSeconds" in spec
    }
    assert ttl_indexes == {("expires_at",): 0}


class CommitLandsAfterTheRead:
    """The store's collection, with the first request's commit landing right after a read."""

    def __init__(self, real: Collection[Record], commit: Callable[[], object]) -> None:
        self.real = real
        self.commit: Callable[[], object] | None = commit

    def find_one(self, *args: Any, **kwargs: Any) -> Record | None:
        found = self.real.find_one(*args, **kwargs)
        commit, self.commit = self.commit, None
        if commit is not None:
            commit()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_retry_never_takes_over_a_request_that_commits_while_it_looks(
    mongo: Client, unique_name: str
) -> None:
    """The takeover compares-and-sets 'not applied' and 'lease over', not only the owner."""
    clock = ManualClock()
    store = IdempotencyStore(
        mongo[unique_name][COLLECTION], ttl_seconds=3600, lease_seconds=60, clock=clock
    )
    first = store.reserve("emp-1", "key-1", "CreateListing#abc")
    assert isinstance(first, Reservation)
    clock.advance(timedelta(seconds=61))  # the first request looks dead: its lease is over

    def first_request_commits() -> object:  # what mark_applied does inside its transaction
        return store.collection.update_one(
            {"_id": first.record_id, "owner": first.owner}, {"$set": {"applied": True}}
        )

    real = store.collection
    store.collection = CommitLandsAfterTheRead(real, first_request_commits)  # type: ignore[assignment]
    with pytest.raises(FailedPrecondition):
        store.reserve("emp-1", "key-1", "CreateListing#abc")
    record = real.find_one({"_id": first.record_id}) or {}
    assert record["owner"] == first.owner, "the applied request was not taken over"
