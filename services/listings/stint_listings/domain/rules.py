"""Posting rules (DESIGN.md §2); each broken rule names the request field it concerns."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from stint_runtime.errors import FailedPrecondition, InvalidArgument

from stint_listings.domain.content import Deliverable, ListingContent, ScreeningQuestion

QUESTION_ID = re.compile(r"^[a-z0-9_-]{1,32}$")

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_SKILLS = 20
MAX_SKILL = 50
MAX_INDUSTRY = 100
MAX_LOCATION = 200
MAX_DELIVERABLES = 20
MAX_DELIVERABLE_DESCRIPTION = 4_000
MAX_CRITERIA = 20
MAX_CRITERION = 1_000
MAX_QUESTIONS = 10
MAX_QUESTION = 500
MAX_SEATS = 100
MAX_REASON = 2_000


@dataclass(frozen=True)
class Currency:
    """A currency fees may be posted in: its ISO 4217 code, how many decimal places its minor
    unit has (2 for cents) and the hourly floor in its own minor units."""

    code: str
    exponent: int
    hourly_floor_minor: int


# Decision: 20.00 an hour in each default currency (DESIGN.md's "default 20.00/h"); an
# operator who wants exchange-rate parity or another currency configures the table.
DEFAULT_CURRENCIES: tuple[Currency, ...] = tuple(
    Currency(code, 2, 2_000) for code in ("USD", "EUR", "GBP", "CAD", "AUD")
)


def currency_table(currencies: Sequence[Currency]) -> Mapping[str, Currency]:
    return {c.code: c for c in currencies}


@dataclass(frozen=True)
class PostingRules:
    """The configurable limits; fees only in the supported currencies, each with its floor."""

    min_hours: int = 5
    max_hours: int = 40
    currencies: Mapping[str, Currency] = field(
        default_factory=lambda: currency_table(DEFAULT_CURRENCIES)
    )
    due_min_days: int = 7
    due_max_days: int = 60

    def currency(self, code: str) -> Currency:
        """The supported currency `code`; INVALID_ARGUMENT naming content.fee.currency if not."""
        found = self.currencies.get(code)
        if found is None:
            supported = ", ".join(sorted(self.currencies))
            raise InvalidArgument(
                "content.fee.currency", f"{code!r} is not a supported currency ({supported})"
            )
        return found

    def hourly_floor(self, code: str) -> int:
        return self.currency(code).hourly_floor_minor


def _text(path: str, value: str, max_len: int, *, required: bool = True) -> None:
    if required and not value.strip():
        raise InvalidArgument(path, "must not be empty")
    if len(value) > max_len:
        raise InvalidArgument(path, f"must be at most {max_len} characters")


def _count(path: str, items: Sequence[object], max_items: int, *, min_items: int = 0) -> None:
    if len(items) < min_items:
        raise InvalidArgument(path, f"needs at least {min_items} item(s)")
    if len(items) > max_items:
        raise InvalidArgument(path, f"allows at most {max_items} items")


def _deliverable(path: str, deliverable: Deliverable) -> None:
    _text(f"{path}.title", deliverable.title, MAX_TITLE)
    description = deliverable.description
    _text(f"{path}.description", description, MAX_DELIVERABLE_DESCRIPTION, required=False)
    _count(f"{path}.acceptance_criteria", deliverable.acceptance_criteria, MAX_CRITERIA)
    for i, criterion in enumerate(deliverable.acceptance_criteria):
        _text(f"{path}.acceptance_criteria[{i}]", criterion, MAX_CRITERION)


def _questions(questions: Sequence[ScreeningQuestion]) -> None:
    _count("content.screening_questions", questions, MAX_QUESTIONS)
    seen: set[str] = set()
    for i, question in enumerate(questions):
        path = f"content.screening_questions[{i}]"
        if not QUESTION_ID.match(question.id):
            raise InvalidArgument(f"{path}.id", "must match ^[a-z0-9_-]{1,32}$")
        if question.id in seen:
            raise InvalidArgument(f"{path}.id", f"duplicate question id {question.id!r}")
        seen.add(question.id)
        _text(f"{path}.text", question.text, MAX_QUESTION)


def check_content(content: ListingContent, rules: PostingRules) -> None:
    """Rules every saved version of the content obeys, drafts included."""
    _text("content.title", content.title, MAX_TITLE)
    _text("content.description", content.description, MAX_DESCRIPTION)
    _count("content.skills", content.skills, MAX_SKILLS, min_items=1)
    for i, skill in enumerate(content.skills):
        _text(f"content.skills[{i}]", skill, MAX_SKILL)
    if len(set(content.skills)) != len(content.skills):
        raise InvalidArgument("content.skills", "must not repeat a skill")
    _text("content.industry", content.industry, MAX_INDUSTRY)
    _text("content.location", content.location, MAX_LOCATION, required=False)
    _count("content.deliverables", content.deliverables, MAX_DELIVERABLES)
    for i, deliverable in enumerate(content.deliverables):
        _deliverable(f"content.deliverables[{i}]", deliverable)
    _questions(content.screening_questions)

    if not rules.min_hours <= content.estimated_hours <= rules.max_hours:
        raise InvalidArgument(
            "content.estimated_hours", f"must be between {rules.min_hours} and {rules.max_hours}"
        )
    floor = rules.hourly_floor(content.fee.currency) * content.estimated_hours
    if content.fee.amount_minor < floor:
        raise InvalidArgument(
            "content.fee",
            f"must be at least {floor} {content.fee.currency} minor units "
            f"({content.estimated_hours} hours at the hourly floor)",
        )
    if not 1 <= content.seats <= MAX_SEATS:
        raise InvalidArgument("content.seats", f"must be between 1 and {MAX_SEATS}")
    if content.application_deadline >= content.due_date:
        raise InvalidArgument("content.application_deadline", "must be before the due date")


def check_dates_ahead(content: ListingContent, rules: PostingRules, now: datetime) -> None:
    """Dates no review or publishing could still meet are refused when written, not later."""
    if content.application_deadline <= now:
        raise InvalidArgument("content.application_deadline", "must be in the future")
    if content.due_date < now + timedelta(days=rules.due_min_days):
        raise InvalidArgument(
            "content.due_date",
            f"must be at least {rules.due_min_days} days from now "
            f"({rules.due_min_days}-{rules.due_max_days} days after publishing)",
        )


def check_ready_for_review(content: ListingContent, now: datetime) -> None:
    """A moderator only sees listings whose work is fully described and still ahead."""
    _count("content.deliverables", content.deliverables, MAX_DELIVERABLES, min_items=1)
    for i, deliverable in enumerate(content.deliverables):
        _count(
            f"content.deliverables[{i}].acceptance_criteria",
            deliverable.acceptance_criteria,
            MAX_CRITERIA,
            min_items=1,
        )
    if content.application_deadline <= now:
        raise InvalidArgument("content.application_deadline", "must be in the future")


# What a PUBLISHED listing may still change: applicants agreed to the fee, hours and work.
LIVE_EDITABLE = frozenset({"application_deadline", "seats", "description"})


def _differs(before: ListingContent, after: ListingContent, name: str) -> bool:
    return bool(getattr(before, name) != getattr(after, name))


def check_live_edit(
    before: ListingContent, after: ListingContent, rules: PostingRules, now: datetime
) -> None:
    """A limited edit of a PUBLISHED listing: a later deadline, more seats, a clearer text."""
    changed = [f.name for f in fields(ListingContent) if _differs(before, after, f.name)]
    frozen = [name for name in changed if name not in LIVE_EDITABLE]
    if frozen:
        raise FailedPrecondition(
            f"cannot change {', '.join(frozen)} of a listing that is PUBLISHED: only a later "
            "application deadline, more seats and the description may change"
        )
    check_content(after, rules)
    if after.application_deadline < before.application_deadline:
        raise InvalidArgument(
            "content.application_deadline", "may only be extended on a published listing"
        )
    if after.application_deadline <= now:
        raise InvalidArgument("content.application_deadline", "must be in the future")
    if after.seats < before.seats:
        raise InvalidArgument("content.seats", "may only grow on a published listing")


def check_publishable(content: ListingContent, rules: PostingRules, now: datetime) -> None:
    """The date window is measured from the moment of publishing."""
    if content.application_deadline <= now:
        raise InvalidArgument("content.application_deadline", "must be in the future")
    earliest = now + timedelta(days=rules.due_min_days)
    latest = now + timedelta(days=rules.due_max_days)
    if not earliest <= content.due_date <= latest:
        raise InvalidArgument(
            "content.due_date",
            f"must be {rules.due_min_days}-{rules.due_max_days} days after publishing",
        )


def check_reason(path: str, reason: str, *, required: bool) -> None:
    _text(path, reason, MAX_REASON, required=required)
