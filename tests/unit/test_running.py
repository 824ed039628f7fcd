"""What `make run` says about itself: written when ready, read by tools, gone with its process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
