"""The demo leaves the platform's clock where it found it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from stint_runtime.clock import read_clock_offset, write_clock_offset

from tools.demo.clock import clock_put_back

DAY = timedelta(days=1)


def test_the_offset_found_is_written_back_and_said(tmp_path: Path) -> None:
    path, said = tmp_path / "clock-offset", list[str]()
    write_clock_offset(path, 3 * DAY)
    with clock_put_back(path, said.append):
        write_clock_offset(path, 11 * DAY)
    assert read_clock_offset(path) == 3 * DAY
    assert said == ["demo: platform clock put back from +11 days to +3 days (as found)"]


def test_it_is_put_back_when_the_demo_fails_too(tmp_path: Path) -> None:
    path = tmp_path / "clock-offset"

    def failing_demo() -> None:
        with clock_put_back(path, lambda _: None):
            write_clock_offset(path, 8 * DAY)
            raise RuntimeError("a step failed")

    with pytest.raises(RuntimeError):
        failing_demo()
    assert read_clock_offset(path) == timedelta(0)


def test_an_unmoved_clock_is_not_rewritten(tmp_path: Path) -> None:
    path, said = tmp_path / "clock-offset", list[str]()
    write_clock_offset(path, DAY)
    before = path.stat().st_ino
    with clock_put_back(path, said.append):
        pass
    assert path.stat().st_ino == before
    assert said == []
