"""Injectable clocks: every timestamp and timer in Stint comes from one of these."""

from __future__ import annotations

import math
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from stint_runtime.atomic_file import write_atomically


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """Wall-clock time, optionally shifted (dev/test only: STINT_CLOCK_OFFSET_SECONDS)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware datetime")
        with self._lock:
            self._now = moment


class FileOffsetClock:
    """Wall-clock time shifted by the seconds written in a file (development only).

    `make run` gives every service the same file (STINT_CLOCK_FILE), so one write moves time for
    all of them at once (the demo expires an application this way). The file is read again only
    when its stat changes; a missing or unreadable file keeps the last offset read.
    """

    def __init__(self, path: Path, base_offset: timedelta = timedelta(0)) -> None:
        self.path = path
        self._base = base_offset
        self._seen: tuple[int, int, int] | None = None
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def offset(self) -> timedelta:
        """The offset the file says now (without the base offset)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return self._offset
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if seen != self._seen:
                parsed = _offset_in(self.path)
                if parsed is not None:
                    # An empty or half-written file (`echo 864000 > file` truncates first) is
                    # not remembered: the last good offset stays and the file is read again.
                    self._seen, self._offset = seen, parsed
            return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._base + self.offset()


def _offset_in(path: Path) -> timedelta | None:
    """The offset `path` holds; None when it is missing, empty or not a finite number."""
    try:
        seconds = float(path.read_text().strip())
        return timedelta(seconds=seconds) if math.isfinite(seconds) else None
    except (OSError, ValueError, OverflowError):
        return None


def read_clock_offset(path: Path) -> timedelta:
    """The offset a clock file holds (zero when there is none or it is not a number)."""
    return _offset_in(path) or timedelta(0)


def write_clock_offset(path: Path, offset: timedelta) -> None:
    """Replace the file's offset atomically (a new inode: readers see the change at once)."""
    write_atomically(path, f"{offset.total_seconds()}\n")


def clock_for(environment: str, offset_seconds: float, clock_file: str) -> Clock:
    """The clock a service runs on; a clock file (a dev tool) is refused in production."""
    base = timedelta(seconds=offset_seconds)
    if not clock_file:
        return SystemClock(base)
    if environment == "production":
        raise ValueError("STINT_CLOCK_FILE is for development and tests: refused in production")
    return FileOffsetClock(Path(clock_file), base)
