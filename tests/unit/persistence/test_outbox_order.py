"""The relay's publishing order: insertion order, each key's events by sequence."""

from __future__ import annotations

from stint_runtime.persistence.mongo import Document
from stint_runtime.persistence.outbox import in_publish_order
from stint_runtime.persistence.unit_of_work import order_keys


def record(key: str, sequence: int, order: int) -> Document:
    return {"_id": f"{key}{sequence}", "key": key, "sequence": sequence, "order": order}


def test_insertion_order_is_kept_across_keys() -> None:
    records = [record("a", 1, 1), record("b", 1, 2), record("a", 2, 3)]
    assert in_publish_order(records) == records


def test_a_keys_events_go_out_by_sequence_in_the_slots_the_key_occupies() -> None:
    records = [record("a", 2, 1), record("b", 1, 2), record("a", 1, 3), record("b", 2, 4)]
    assert [r["_id"] for r in in_publish_order(records)] == ["a1", "b1", "a2", "b2"]


def test_order_keys_strictly_increase() -> None:
    keys = [order_keys.next() for _ in range(1000)]
    assert keys == sorted(set(keys))
