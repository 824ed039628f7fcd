"""A search as the repository runs it: the caller's filters plus what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from stint_listings.domain.content import Money
from stint_listings.domain.model import Listing, ListingStatus


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


@dataclass(frozen=True)
class Page:
    listings: list[Listing]
    next_page_token: str = ""
