"""Units of work against the real database: atomicity, version checks, retries."""

from __future__ import annotations

import contextlib
import threading

import pytest
from google.protobuf.wrappers_pb2 import StringValue
from pymongo.errors import OperationFailure
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict, FailedPrecondition
from stint_runtime.persistence.unit_of_work import OUTBOX, UnitOfWork, UnitOfWorkFactory

pytestmark = pytest.mark.integration


def test_state_and_events_commit_together(factory: UnitOfWorkFactory) -> None:
    def place(uow: UnitOfWork) -> None:
        uow.insert("orders", {"_id": "o1", "version": 1})
        uow.emit(StringValue(value="placed"), subject="o1", sequence=1, topic="orders.v1")

    factory.run(place)

    assert factory.db.orders.count_documents({"_id": "o1"}) == 1
    [record] = factory.db[OUTBOX].find()
    assert (record["key"], record["topic"], record["published_at"]) == ("o1", "orders.v1", None)


def test_an_aborted_unit_of_work_leaves_neither_state_nor_events(
    factory: UnitOfWorkFactory,
) -> None:
    def crash_before_commit(uow: UnitOfWork) -> None:
        uow.insert("orders", {"_id": "o1", "version": 1})
        uow.emit(StringValue(value="placed"), subject="o1", topic="orders.v1")
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        factory.run(crash_before_commit)

    with factory() as uow:
        uow.insert("orders", {"_id": "o2", "version": 1})
        uow.emit(StringValue(value="placed"), subject="o2", topic="orders.v1")
        # leaving without commit() aborts as well

    assert factory.db.orders.count_documents({}) == 0
    assert factory.db[OUTBOX].count_documents({}) == 0


def test_insert_of_an_existing_id_is_already_exists(factory: UnitOfWorkFactory) -> None:
    factory.run(lambda uow: uow.insert("orders", {"_id": "o1", "version": 1}))

    with pytest.raises(AlreadyExists):
        factory.run(lambda uow: uow.insert("orders", {"_id": "o1", "version": 1}))


def test_replace_if_version_bumps_the_version_and_refuses_stale_writers(
    factory: UnitOfWorkFactory,
) -> None:
    factory.run(lambda uow: uow.insert("orders", {"_id": "o1", "version": 1, "state": "NEW"}))

    new_version = factory.run(
        lambda uow: uow.replace_if_version("orders", {"_id": "o1", "state": "PAID"}, 1)
    )

    assert new_version == 2
    assert factory.db.orders.find_one({"_id": "o1"}) == {"_id": "o1", "state": "PAID", "version": 2}
    with pytest.raises(ConcurrencyConflict):
        factory.run(lambda uow: uow.replace_if_version("orders", {"_id": "o1"}, 1))


def test_concurrent_conflicting_commands_exactly_one_wins(factory: UnitOfWorkFactory) -> None:
    factory.run(lambda uow: uow.insert("orders", {"_id": "o1", "version": 1, "winner": None}))
    both_read = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(name: str) -> None:
        def change(uow: UnitOfWork) -> None:
            current = uow.find_one("orders", {"_id": "o1"})
            assert current is not None
            with contextlib.suppress(threading.BrokenBarrierError):
                both_read.wait(timeout=5)  # the first attempts race; retries re-read
            if current["winner"] is not None:
                raise FailedPrecondition("already claimed")
            uow.replace_if_version("orders", {**current, "winner": name}, current["version"])
            uow.emit(StringValue(value=name), subject="o1", topic="orders.v1")

        try:
            factory.run(change)
            outcomes[name] = "won"
        except (ConcurrencyConflict, FailedPrecondition):
            outcomes[name] = "refused"
        finally:
            both_read.abort()

    threads = [threading.Thread(target=claim, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["refused", "won"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    stored = factory.db.orders.find_one({"_id": "o1"})
    assert stored is not None
    assert (stored["winner"], stored["version"]) == (winner, 2)
    assert factory.db[OUTBOX].count_documents({}) == 1, "only the winner's event"


def test_run_retries_transient_transaction_errors_a_bounded_number_of_times(
    factory: UnitOfWorkFactory,
) -> None:
    calls = []

    def flaky(uow: UnitOfWork) -> str:
        calls.append(1)
        uow.insert("orders", {"_id": f"o{len(calls)}", "version": 1})
        if len(calls) < 3:
            raise OperationFailure(
                "write conflict", code=112, details={"errorLabels": ["TransientTransactionError"]}
            )
        return "done"

    assert factory.run(flaky) == "done"
    assert [d["_id"] for d in factory.db.orders.find()] == ["o3"], "failed attempts rolled back"

    def always(uow: UnitOfWork) -> None:
        calls.append(1)
        raise OperationFailure(
            "write conflict", code=112, details={"errorLabels": ["TransientTransactionError"]}
        )

    calls.clear()
    with pytest.raises(ConcurrencyConflict) as exhausted:  # ABORTED for the caller, not INTERNAL
        factory.run(always)
    assert isinstance(exhausted.value.__cause__, OperationFailure)
    assert len(calls) == factory.max_attempts


def test_commit_listeners_run_after_commit_only(factory: UnitOfWorkFactory) -> None:
    seen: list[int] = []
    factory.add_commit_listener(lambda uow: seen.append(len(uow.emitted)))

    factory.run(lambda uow: uow.emit(StringValue(value="x"), subject="s", topic="t"))
    with pytest.raises(RuntimeError), factory():
        raise RuntimeError("aborted")

    assert seen == [1]
