"""What an employer writes: the listing's content as immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Money:
    """An amount in integer minor units of an ISO 4217 currency; never a float."""

    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Deliverable:
    title: str
    description: str = ""
    acceptance_criteria: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScreeningQuestion:
    id: str
    text: str
    required: bool = False


@dataclass(frozen=True)
class ListingContent:
    title: str
    description: str
    skills: tuple[str, ...]
    industry: str
    deliverables: tuple[Deliverable, ...]
    estimated_hours: int
    fee: Money
    seats: int
    application_deadline: datetime
    due_date: datetime
    remote: bool = False
    location: str = ""
    screening_questions: tuple[ScreeningQuestion, ...] = ()
