"""The demo reports a step that did not happen as FAILED and stops there (exit 1 in `main`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import DEFAULT_GRPC_PORTS
from stint_runtime.stack.processes import free_port

from tools.demo.__main__ import drive
from tools.demo.university import University


async def test_a_platform_that_does_not_answer_fails_the_first_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = RunningPlatform(
        pid=os.getpid(),
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_uri="mongodb://127.0.0.1:1",
        grpc={name: f"127.0.0.1:{free_port()}" for name in DEFAULT_GRPC_PORTS},
        maildir=str(tmp_path / "mail"),
        clock_file=str(tmp_path / "clock"),
    )
    journey, ok = await drive(nowhere, "failing", University())
    assert not ok
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("[ 1/17] people: FAILED: UNAVAILABLE")
    assert len([line for line in lines if line.startswith("[")]) == 1  # no step after it
    assert journey.facts.payouts == {}
