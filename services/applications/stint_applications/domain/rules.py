"""Timing and limits (DESIGN.md §2) and input checks; each refusal names its request field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from stint_runtime.errors import InvalidArgument

MAX_COVER_LETTER = 10_000
MAX_ANSWER = 4_000
MAX_ANSWERS = 10
MAX_REASON = 2_000
MAX_LONG_TEXT = 10_000
MAX_FEEDBACK_TEXT = 4_000
MAX_LINKS = 20
MAX_LINK = 2_048
MAX_CHECK_COMMENT = 2_000
LINK = re.compile(r"^https?://\S+$")


@dataclass(frozen=True)
class Policy:
    """The configurable clocks and limits of both lifecycles."""

    response_sla: timedelta = timedelta(days=7)
    revision_limit: int = 2
    auto_approve_after: timedelta = timedelta(days=7)
    engagement_grace: timedelta = timedelta(days=3)
    feedback_window: timedelta = timedelta(days=14)
    # From the LAST revision request: then the platform opens a dispute.
    revision_window: timedelta = timedelta(days=7)
    # From the offer: then the offer lapses (EXPIRED, "offer lapsed") and the seat stays free.
    offer_window: timedelta = timedelta(days=3)
    # Applications one student may make to one listing (re-applying after WITHDRAWN, EXPIRED
    # or a rejection because the listing filled).
    max_applications_per_listing: int = 3


def check_text(path: str, value: str, max_len: int, *, required: bool) -> None:
    if required and not value.strip():
        raise InvalidArgument(path, "must not be empty")
    if len(value) > max_len:
        raise InvalidArgument(path, f"must be at most {max_len} characters")


def check_links(path: str, links: Sequence[str]) -> None:
    if len(links) > MAX_LINKS:
        raise InvalidArgument(path, f"allows at most {MAX_LINKS} items")
    for i, link in enumerate(links):
        if len(link) > MAX_LINK or not LINK.match(link):
            raise InvalidArgument(f"{path}[{i}]", "must be an http(s) URL")


def check_rating(rating: int) -> None:
    if not 1 <= rating <= 5:
        raise InvalidArgument("rating", "must be between 1 and 5")


def check_percent(percent: int) -> None:
    if not 0 <= percent <= 100:
        raise InvalidArgument("payout_percent", "must be between 0 and 100")
