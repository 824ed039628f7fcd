"""Process-tree helpers for tests that check nothing is left running."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessId:
    """A pid plus its start time, so a recycled pid is not mistaken for the same process."""

    pid: int
    start_ticks: int

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        stat = _stat(pid)
        return None if stat is None else cls(pid, int(stat[19]))

    def alive(self) -> bool:
        """Running (a zombie awaiting its reaper counts as gone)."""
        stat = _stat(self.pid)
        return stat is not None and int(stat[19]) == self.start_ticks and stat[0] != "Z"

    def command(self) -> str:
        try:
            return (PROC / str(self.pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return "?"


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat fields after the command name: state, ppid, ..., starttime at [19]."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def descendants(pid: int) -> set[ProcessId]:
    """Every live process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    found: set[ProcessId] = set()
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        process = ProcessId.of(child)
        if process is not None:
            found.add(process)
        pending.extend(children.get(child, []))
    return found


def wait_all_gone(processes: set[ProcessId], timeout: float) -> list[ProcessId]:
    """Wait until none runs; return those still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in processes if p.alive()]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in processes if p.alive()]


def wait_for_text(
    path: Path, text: str, timeout: float, running: Callable[[], bool] = lambda: True
) -> str:
    """The file's content once it contains `text`; AssertionError with the content otherwise."""
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        if not running():
            raise AssertionError(f"exited before {text!r} appeared in {path}:\n{content[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path} after {timeout:.0f}s:\n{content[-3000:]}")
