"""Durable timers against the real database, driven by a manual clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pymongo.errors import AutoReconnect
from stint_runtime.clock import ManualClock
from stint_runtime.persistence.mongo import Client
from stint_runtime.persistence.timers import (
    FAILED_TIMERS,
    TimerHandler,
    TimerScanner,
    cancel_timer,
    set_timer,
    timer_due_at,
)
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork, UnitOfWorkFactory

from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


def create(factory: UnitOfWorkFactory, clock: ManualClock, aggregate: str) -> None:
    def unit(uow: UnitOfWork) -> None:
        document = {"_id": aggregate, "version": 1, "state": "OPEN", "timers": []}
        set_timer(document, "expire", clock.now() + HOUR)
        uow.insert("listings", document)

    factory.run(unit)


def expire(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
    """What a service's timer handler does: change state and emit, in the same unit of work."""
    document = uow.find_one("listings", {"_id": aggregate_id})
    assert document is not None
    uow.replace_if_version(
        "listings", {**document, "state": "EXPIRED"}, expected_version=document["version"]
    )
    uow.emit(StringValue(value=timer), subject=aggregate_id, topic="listings.test")


def scanner(
    factory: UnitOfWorkFactory, clock: ManualClock, handler: TimerHandler = expire
) -> TimerScanner:
    return TimerScanner(factory, "listings", {"expire": handler}, clock, poll_interval=0.05)


def state(factory: UnitOfWorkFactory, aggregate: str) -> str:
    document = factory.db.listings.find_one({"_id": aggregate})
    assert document is not None
    return str(document["state"])


def test_a_timer_fires_once_the_clock_passes_it_and_not_before(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")
    timers = scanner(factory, clock)

    clock.advance(HOUR - timedelta(seconds=1))
    assert timers.fire_due() == 0
    assert state(factory, "l1") == "OPEN"

    clock.advance(timedelta(seconds=1))
    assert timers.fire_due() == 1
    assert timers.fire_due() == 0, "fired exactly once"

    document = factory.db.listings.find_one({"_id": "l1"})
    assert document is not None
    assert (document["state"], document["timers"]) == ("EXPIRED", [])
    assert factory.db[OUTBOX].count_documents({"key": "l1"}) == 1


def test_a_cancelled_timer_never_fires(factory: UnitOfWorkFactory, clock: ManualClock) -> None:
    create(factory, clock, "l1")

    def close(uow: UnitOfWork) -> None:
        document = uow.find_one("listings", {"_id": "l1"})
        assert document is not None
        cancel_timer(document, "expire")
        uow.replace_if_version("listings", {**document, "state": "CLOSED"}, document["version"])

    factory.run(close)
    clock.advance(2 * HOUR)

    assert scanner(factory, clock).fire_due() == 0
    assert state(factory, "l1") == "CLOSED"


def test_timers_fire_after_a_restart(
    mongo: Client, factory: UnitOfWorkFactory, clock: ManualClock, unique_name: str
) -> None:
    create(factory, clock, "l1")
    assert scanner(factory, clock).fire_due() == 0

    # the process "restarts": a new clock, factory and scanner over the same database
    later = ManualClock(clock.now() + 2 * HOUR)
    restarted = UnitOfWorkFactory(mongo, unique_name, "testsvc", later)
    assert scanner(restarted, later).fire_due() == 1
    assert state(restarted, "l1") == "EXPIRED"


def test_a_failing_handler_does_not_block_others_and_is_retried(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")
    create(factory, clock, "l2")
    failing = {"l1"}

    def flaky(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
        if aggregate_id in failing:
            raise RuntimeError("downstream unavailable")
        expire(uow, aggregate_id, timer)

    timers = scanner(factory, clock, flaky)
    clock.advance(2 * HOUR)

    assert timers.fire_due() == 1
    assert (state(factory, "l1"), state(factory, "l2")) == ("OPEN", "EXPIRED")
    assert timer_due_at(factory.db.listings.find_one({"_id": "l1"}) or {}, "expire") is not None

    failing.clear()
    assert timers.fire_due() == 0, "a failed timer waits out its backoff"
    clock.advance(timedelta(minutes=1))
    assert timers.fire_due() == 1
    assert state(factory, "l1") == "EXPIRED"


def test_failing_timers_never_starve_the_others(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    for n in range(4):
        create(factory, clock, f"bad{n}")
    clock.advance(timedelta(minutes=1))
    create(factory, clock, "good")  # due last, behind every failing one

    def flaky(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
        if aggregate_id.startswith("bad"):
            raise RuntimeError("downstream unavailable")
        expire(uow, aggregate_id, timer)

    timers = TimerScanner(factory, "listings", {"expire": flaky}, clock, batch_size=2)
    clock.advance(2 * HOUR)
    fired = sum(timers.fire_due() for _ in range(3))
    assert fired == 1
    assert state(factory, "good") == "EXPIRED"


async def test_the_scanner_loop_fires_when_the_clock_moves(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")
    timers = scanner(factory, clock)
    await timers.start()
    try:
        clock.advance(2 * HOUR)
        await eventually(lambda: state(factory, "l1") == "EXPIRED", limit=10, what="expiry")
    finally:
        await timers.stop()


def test_a_timer_that_keeps_failing_is_given_up_visibly_after_its_budget(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")
    calls: list[str] = []

    def broken(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
        calls.append(aggregate_id)
        raise ValueError("this aggregate can never expire")

    timers = TimerScanner(factory, "listings", {"expire": broken}, clock, max_attempts=3)
    clock.advance(2 * HOUR)
    for _ in range(6):
        timers.fire_due()
        clock.advance(HOUR)  # past any backoff

    assert calls == ["l1"] * 3, "retried up to its budget, then no more"
    assert timer_due_at(factory.db.listings.find_one({"_id": "l1"}) or {}, "expire") is None
    [failed] = list(factory.db[FAILED_TIMERS].find())
    assert (failed["collection"], failed["aggregate_id"], failed["name"]) == (
        "listings",
        "l1",
        "expire",
    )
    assert failed["failures"] == 3
    assert failed["reason"] == "ValueError: this aggregate can never expire"
    assert timers.retrying == 0, "no bookkeeping left behind"


def test_an_outage_does_not_spend_a_timers_budget(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")
    outage = {"failures_left": 5}

    def during_outage(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
        if outage["failures_left"] > 0:
            outage["failures_left"] -= 1
            raise AutoReconnect("connection refused")
        expire(uow, aggregate_id, timer)

    timers = TimerScanner(factory, "listings", {"expire": during_outage}, clock, max_attempts=2)
    clock.advance(2 * HOUR)
    while outage["failures_left"]:
        timers.fire_due()
        clock.advance(HOUR)
    assert timers.fire_due() == 1
    assert state(factory, "l1") == "EXPIRED"
    assert factory.db[FAILED_TIMERS].count_documents({}) == 0


def test_the_bookkeeping_of_a_cancelled_failing_timer_is_dropped(
    factory: UnitOfWorkFactory, clock: ManualClock
) -> None:
    create(factory, clock, "l1")

    def broken(uow: UnitOfWork, aggregate_id: str, timer: str) -> None:
        raise ValueError("not yet")

    timers = TimerScanner(factory, "listings", {"expire": broken}, clock, max_attempts=10)
    clock.advance(2 * HOUR)
    timers.fire_due()
    assert timers.retrying == 1

    def cancel(uow: UnitOfWork) -> None:
        document = uow.find_one("listings", {"_id": "l1"}) or {}
        cancel_timer(document, "expire")
        uow.replace_if_version("listings", document, expected_version=document["version"])

    factory.run(cancel)
    clock.advance(HOUR)
    timers.fire_due()
    assert timers.retrying == 0
