"""What an employer writes: the listing's content as immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stint_runtime.values import Money as Money


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
