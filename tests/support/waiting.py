"""The one way tests wait for something to happen: poll a condition until it holds, or fail."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    condition: Callable[[], Any],
    *,
    limit: float = 30.0,
    what: str | Callable[[], str] = "the condition",
    interval: float = 0.1,
) -> None:
    """Poll `condition` (sync or async) until it is truthy; fail naming `what` after `limit` s.

    `what` may be a callable, evaluated only on failure, to show the last state seen.
    """
    deadline = time.monotonic() + limit
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"not reached within {limit}s: {described}")
        await asyncio.sleep(interval)
