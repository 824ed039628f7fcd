"""List queries as the repositories run them: the caller's filters plus what it may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from stint_applications.domain.application import ApplicationStatus
from stint_applications.domain.engagement import EngagementStatus

T = TypeVar("T")
S = TypeVar("S", ApplicationStatus, EngagementStatus)


class ListOrder(StrEnum):
    NEWEST = "NEWEST"
    # The soonest pending timer first; nothing pending last.
    DEADLINE_SOONEST = "DEADLINE_SOONEST"


@dataclass(frozen=True)
class Filter(Generic[S]):
    """Every non-empty field narrows the result; the service layer sets `employer_org_id` or
    `student_id` from the caller, so nobody lists what it may not see."""

    employer_org_id: str = ""
    student_id: str = ""
    listing_id: str = ""
    statuses: frozenset[S] = field(default_factory=frozenset)
    order: ListOrder = ListOrder.NEWEST


ApplicationFilter = Filter[ApplicationStatus]
EngagementFilter = Filter[EngagementStatus]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str = ""
