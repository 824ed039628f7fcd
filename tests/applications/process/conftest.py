"""Settings for service processes: each its own database and port, the session's broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stint_runtime.stack.embedded import Endpoints

from tests.support.isolation import own_group_settings
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

Launcher = Callable[..., ServiceProcess]


@pytest.fixture
def launch(infra: Endpoints, tmp_path: Path) -> Iterator[Launcher]:
    """`launch("applications", environment=...)`: a ServiceProcess, stopped after the test."""
    started: list[ServiceProcess] = []

    def make(name: str, **updates: object) -> ServiceProcess:
        settings = settings_for_test(name, infra, "process", **updates)
        # A group of its own at the topics' end: only what the test publishes, no backlog.
        process = ServiceProcess(own_group_settings(settings), tmp_path)
        started.append(process)
        return process

    yield make
    for process in reversed(started):
        process.stop()
