"""One platform (`stint_runtime.run` on free ports, as `make demo` starts it) for the e2e tests
that only drive it; tests that need other settings start their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stint_runtime.running import RunningPlatform

from tools.demo.platform import started_platform


@pytest.fixture(scope="session")
def platform() -> Iterator[RunningPlatform]:
    with started_platform() as running:
        yield running
