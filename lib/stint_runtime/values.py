"""Plain values every service's domain uses: who is asking, money, stored time precision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    """Who is asking: `role` is employer, student or admin, None for an anonymous gateway."""

    subject: str
    role: str | None
    org: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.role is None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_student(self) -> bool:
        return self.role == "student" and bool(self.subject)

    def is_student_of(self, student_id: str) -> bool:
        return self.is_student and self.subject == student_id

    def owns(self, employer_org_id: str) -> bool:
        """An employer acting for the organisation that owns the resource."""
        return self.role == "employer" and self.org is not None and self.org == employer_org_id


@dataclass(frozen=True)
class Money:
    """An amount in integer minor units of an ISO 4217 currency; never a float."""

    amount_minor: int
    currency: str


def at_millis(moment: datetime) -> datetime:
    """Timestamps are kept at millisecond precision, as MongoDB stores them."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
