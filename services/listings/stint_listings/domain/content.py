"""What an employer writes: the listing's content as immutable values."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

from stint_runtime.errors import InvalidArgument
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


def merged(
    stored: ListingContent, update: ListingContent, paths: tuple[str, ...]
) -> ListingContent:
    """`stored` with the fields named by an update mask taken from `update`; every field when
    the mask is empty. Paths are ListingContent field names, optionally prefixed "content."."""
    if not paths:
        return update
    names = {f.name for f in fields(ListingContent)}
    taken: dict[str, object] = {}
    for i, path in enumerate(paths):
        name = path.removeprefix("content.")
        if name not in names:
            raise InvalidArgument(f"update_mask.paths[{i}]", f"names no listing field {path!r}")
        taken[name] = getattr(update, name)
    return replace(stored, **taken)  # type: ignore[arg-type]
