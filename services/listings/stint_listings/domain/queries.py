"""A search as the repository runs it: the caller's filters plus what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stint_listings.domain.content import Money
from stint_listings.domain.model import Listing, ListingStatus


class SearchOrder(StrEnum):
    NEWEST = "NEWEST"
    FEE_HIGHEST = "FEE_HIGHEST"
    DEADLINE_SOONEST = "DEADLINE_SOONEST"


@dataclass(frozen=True)
class ListingFilter:
    """Every field narrows the result. Unless `unrestricted` (admins), only PUBLIC listings and
    those of `private_org` (the calling employer's own) are visible."""

    statuses: frozenset[ListingStatus]
    unrestricted: bool = False
    private_org: str | None = None
    text: str = ""
    skills: tuple[str, ...] = ()
    match_all_skills: bool = False
    industry: str = ""
    min_fee: Money | None = None
    max_fee: Money | None = None
    remote: bool | None = None
    employer_org_id: str = ""
    order: SearchOrder = SearchOrder.NEWEST
    deadline_after: datetime | None = None
    deadline_before: datetime | None = None
    min_hours: int = 0
    max_hours: int = 0


@dataclass(frozen=True)
class Page:
    listings: list[Listing]
    next_page_token: str = ""
