"""A listing's seats as this service counts them: the race for the last seat is decided here."""

from __future__ import annotations

from dataclasses import dataclass

from stint_runtime.errors import FailedPrecondition


@dataclass
class Seats:
    """The engagements holding a seat on one listing; saved with a version check, so two
    acceptances racing for the last seat cannot both commit."""

    listing_id: str
    holders: frozenset[str] = frozenset()
    # 0: never stored.
    version: int = 0

    def take(self, engagement_id: str, capacity: int) -> None:
        if engagement_id in self.holders:
            return
        if len(self.holders) >= capacity:
            raise FailedPrecondition(
                f"cannot accept an offer on a listing whose {capacity} seat(s) are all taken"
            )
        self.holders = self.holders | {engagement_id}

    def free(self, engagement_id: str) -> bool:
        if engagement_id not in self.holders:
            return False
        self.holders = self.holders - {engagement_id}
        return True
