"""Shared values to and from their protobuf forms."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from stint.common.v1 import money_pb2
from stint_runtime.proto_values import moment, money, money_from, timestamp
from stint_runtime.values import Actor, Money, at_millis


def test_unset_timestamps_stay_unset_and_times_keep_millisecond_precision() -> None:
    assert timestamp(None) is None
    assert moment(Timestamp(seconds=1, nanos=1_500_000)).microsecond == 1000
    moment_ = datetime(2030, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    round_trip = moment(timestamp(moment_) or Timestamp())
    assert round_trip == at_millis(moment_) == moment_.replace(microsecond=678_000)


def test_money_round_trips_in_minor_units() -> None:
    value = Money(amount_minor=25_000, currency="USD")
    assert money(value) == money_pb2.Money(amount_minor=25_000, currency="USD")
    assert money_from(money(value)) == value


def test_actors_own_only_their_organisation() -> None:
    employer = Actor("emp-1", "employer", "org-1")
    assert employer.owns("org-1")
    assert not employer.owns("org-2")
    assert not Actor("adm-1", "admin").owns("org-1")
    assert Actor("stu-1", "student").is_student_of("stu-1")
    assert not Actor("", "student").is_student
