"""Exponential backoff between attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before retry n (n = 1 after the first failure): initial * 2**(n-1), capped."""

    initial: float = 0.2
    maximum: float = 5.0

    def delay(self, failed_attempts: int) -> float:
        if failed_attempts < 1:
            return 0.0
        return min(self.maximum, self.initial * 2.0 ** (failed_attempts - 1))

    def schedule(self, attempts: int) -> list[float]:
        """The delays between `attempts` tries (one fewer than the attempts)."""
        return [self.delay(n) for n in range(1, attempts)]
