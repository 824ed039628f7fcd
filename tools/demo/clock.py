"""The demo moves the platform's clock (to expire an application) and puts it back when done, so
a developer's `make run` is not left days ahead (their own dates would then be "in the past")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from stint_runtime.clock import read_clock_offset, write_clock_offset


def days(offset: timedelta) -> str:
    return f"{offset / timedelta(days=1):+g} days"


@contextmanager
def clock_put_back(clock_file: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Restore the offset `clock_file` held on entry (what expired stays expired; timers that
    fired stay fired), and say so."""
    found = read_clock_offset(clock_file)
    try:
        yield
    finally:
        now = read_clock_offset(clock_file)
        if now != found:
            write_clock_offset(clock_file, found)
            say(f"demo: platform clock put back from {days(now)} to {days(found)} (as found)")
