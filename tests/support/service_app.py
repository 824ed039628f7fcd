"""A service running in the test process for the length of a fixture."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

from stint_runtime.service import ServiceApp

App = TypeVar("App", bound=ServiceApp)


@contextlib.asynccontextmanager
async def serving(app: App) -> AsyncIterator[App]:
    """Start `app`, wait until its consumer holds partitions, and stop it afterwards."""
    await app.start()
    try:
        if app.subscriber is not None:
            await app.subscriber.wait_assigned()
        yield app
    finally:
        await app.stop()
