"""What `make run` says about itself: written when ready, read by tools, gone with its process."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from stint_runtime import atomic_file, clock, running
from stint_runtime.running import PLATFORM_FILE, RunningPlatform, forget


def platform(pid: int) -> RunningPlatform:
    return RunningPlatform(
        pid=pid,
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_uri="mongodb://127.0.0.1:2",
        grpc={"listings": "127.0.0.1:3"},
        metrics={"listings": "http://127.0.0.1:4/metrics"},
        maildir="/tmp/mail",
        clock_file="/tmp/clock",
    )


def test_a_description_is_read_back_while_its_process_lives(tmp_path: Path) -> None:
    written = platform(os.getpid())
    written.write(tmp_path)
    assert RunningPlatform.read(tmp_path) == written
    forget(tmp_path)
    assert RunningPlatform.read(tmp_path) is None


def test_a_description_left_by_a_dead_process_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    platform(int(gone.stdout)).write(tmp_path)
    assert RunningPlatform.read(tmp_path) is None


def test_a_broken_description_is_no_platform(tmp_path: Path) -> None:
    (tmp_path / PLATFORM_FILE).write_text("{not json")
    assert RunningPlatform.read(tmp_path) is None
    (tmp_path / PLATFORM_FILE).write_text('{"pid": 1, "unexpected": true}')
    assert RunningPlatform.read(tmp_path) is None


def test_the_description_and_the_clock_share_one_atomic_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []
    real = atomic_file.write_atomically

    def spy(path: Path, text: str, mode: int = 0o644) -> None:
        written.append(path)
        real(path, text, mode)

    monkeypatch.setattr(atomic_file, "write_atomically", spy)
    monkeypatch.setattr(running, "write_atomically", spy, raising=False)
    monkeypatch.setattr(clock, "write_atomically", spy, raising=False)
    platform(os.getpid()).write(tmp_path)
    clock.write_clock_offset(tmp_path / "clock-offset", timedelta(seconds=5))
    assert written == [tmp_path / PLATFORM_FILE, tmp_path / "clock-offset"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clock-offset", PLATFORM_FILE]


def test_the_description_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = platform(os.getpid()).write(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        (
            "mongodb://app:s3cret@db.example:27017/x?tls=true",
            "mongodb://***@db.example:27017/x?tls=true",
        ),
        ("mongodb+srv://app:p%40ss@cluster.example", "mongodb+srv://***@cluster.example"),
        (
            "mongodb://127.0.0.1:27117/?directConnection=true",
            "mongodb://127.0.0.1:27117/?directConnection=true",
        ),
    ],
)
def test_a_uri_is_shown_without_its_password(uri: str, shown: str) -> None:
    assert running.redact_uri(uri) == shown
