"""Whether a service can do its work: parts report outages here; health follows after a grace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("stint.readiness")


class Readiness:
    """Parts (subscriber, relay, timers, dead letters) report when they cannot reach a dependency.

    A part degraded for longer than `grace_seconds` makes the service not ready (health
    NOT_SERVING) until it reports it recovered: short blips do not flap the health status.
    Thread-safe: worker threads report too.
    """

    def __init__(
        self, grace_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.grace_seconds = grace_seconds
        self._monotonic = monotonic
        self._since: dict[str, float] = {}
        self._reasons: dict[str, str] = {}
        self._lock = threading.Lock()

    def degraded(self, part: str, reason: str) -> None:
        with self._lock:
            if part not in self._since:
                self._since[part] = self._monotonic()
                log.warning("degraded", extra={"part": part, "reason": reason})
            self._reasons[part] = reason

    def recovered(self, part: str) -> None:
        with self._lock:
            if self._since.pop(part, None) is not None:
                log.info("recovered", extra={"part": part})
            self._reasons.pop(part, None)

    def failing(self) -> dict[str, str]:
        """The parts degraded for longer than the grace, with their latest reason."""
        now = self._monotonic()
        with self._lock:
            return {
                part: self._reasons[part]
                for part, since in self._since.items()
                if now - since >= self.grace_seconds
            }

    @property
    def ready(self) -> bool:
        return not self.failing()
