"""The development clock file: one write moves every clock that reads it; refused in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from stint_runtime.clock import (
    FileOffsetClock,
    SystemClock,
    clock_for,
    read_clock_offset,
    write_clock_offset,
)
from stint_runtime.settings import StintSettings

DAY = timedelta(days=1)


def close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_a_missing_file_means_no_offset(tmp_path: Path) -> None:
    clock = FileOffsetClock(tmp_path / "clock")
    assert close_to(clock.now(), datetime.now(UTC))
    assert read_clock_offset(tmp_path / "clock") == timedelta(0)


def test_every_clock_on_the_file_moves_when_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_offset(path, timedelta(0))
    first, second = FileOffsetClock(path), FileOffsetClock(path, base_offset=DAY)
    assert close_to(first.now(), datetime.now(UTC))
    write_clock_offset(path, 8 * DAY)
    assert close_to(first.now(), datetime.now(UTC) + 8 * DAY)
    assert close_to(second.now(), datetime.now(UTC) + 9 * DAY)
    assert read_clock_offset(path) == 8 * DAY
    write_clock_offset(path, 2 * DAY)
    assert first.offset() == 2 * DAY


def test_an_unreadable_offset_keeps_the_last_one(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    write_clock_offset(path, DAY)
    clock = FileOffsetClock(path)
    assert clock.offset() == DAY
    path.write_text("tomorrow")
    assert clock.offset() == DAY


def test_the_file_is_only_read_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "clock"
    write_clock_offset(path, DAY)
    clock = FileOffsetClock(path)
    clock.offset()
    reads: list[Path] = []
    original = Path.read_text

    def counting(self: Path, *args: object, **kwargs: object) -> str:
        reads.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_text", counting)
    for _ in range(100):
        clock.now()
    assert reads == []
    write_clock_offset(path, 3 * DAY)
    assert clock.offset() == 3 * DAY
    assert len(reads) == 1


def test_the_clock_follows_the_settings_and_production_refuses_a_file(tmp_path: Path) -> None:
    assert isinstance(clock_for("dev", 0.0, ""), SystemClock)
    assert isinstance(clock_for("dev", 0.0, str(tmp_path / "clock")), FileOffsetClock)
    with pytest.raises(ValueError, match="STINT_CLOCK_FILE"):
        clock_for("production", 0.0, str(tmp_path / "clock"))
    with pytest.raises(ValidationError, match="STINT_CLOCK_FILE"):
        StintSettings(
            environment="production",
            jwt_secret=SecretStr("a-real-secret-of-enough-length-0123456789"),
            jwt_issuer="i",
            jwt_audience="a",
            clock_file=str(tmp_path / "clock"),
        )


@pytest.mark.parametrize("content", ["", "\n", "nan", "1e400", "12 days"], ids=repr)
def test_a_file_caught_mid_write_keeps_the_last_good_offset(tmp_path: Path, content: str) -> None:
    path = tmp_path / "clock"
    write_clock_offset(path, 10 * DAY)
    clock = FileOffsetClock(path)
    assert clock.offset() == 10 * DAY
    path.write_text(content)  # `echo 864000 > file` truncates the file before writing
    assert clock.offset() == 10 * DAY, "an empty or broken file is not an offset of zero"
    path.write_text("86400\n")
    assert clock.offset() == DAY, "the broken state was not cached: the next write is seen"


@pytest.mark.parametrize("content", ["", "tomorrow", "nan"])
def test_reading_a_malformed_file_is_no_offset_not_an_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "clock").write_text(content)
    assert read_clock_offset(tmp_path / "clock") == timedelta(0)
