"""Reputation that travels, derived from engagements (never stored as a second truth):
a student's track record for employers, an employer organisation's record for students."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from stint_applications.domain.engagement import Engagement, Feedback, Outcome, Party


@dataclass(frozen=True)
class StudentSummary:
    completed_engagements: int = 0
    on_time_percent: int = 0
    ratings: int = 0
    average_rating_x100: int = 0


@dataclass(frozen=True)
class StudentProfile:
    student_id: str
    summary: StudentSummary
    skills_demonstrated: tuple[str, ...]
    ratings: tuple[Feedback, ...]


@dataclass(frozen=True)
class EmployerRecord:
    employer_org_id: str
    ratings: int = 0
    average_rating_x100: int = 0
    disputes: int = 0
    accepted_submissions: int = 0
    on_time_approval_percent: int = 0


def _percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def _average_x100(ratings: list[Feedback]) -> int:
    return round(100 * sum(f.rating for f in ratings) / len(ratings)) if ratings else 0


def completed(engagement: Engagement) -> bool:
    """The work was accepted with a share of the fee (approved, auto-approved, resolved > 0)."""
    return engagement.accept_time is not None and engagement.payout_percent > 0


def _on_time(engagement: Engagement) -> bool:
    return bool(engagement.submissions) and (
        engagement.submissions[0].submit_time <= engagement.due_date
    )


def _published(engagements: Iterable[Engagement], author: Party) -> list[Feedback]:
    found = [
        f for e in engagements if e.feedback_published for f in e.feedback if f.author is author
    ]
    return sorted(found, key=lambda f: f.submit_time, reverse=True)


def student_profile(student_id: str, engagements: list[Engagement]) -> StudentProfile:
    """From every engagement of the student."""
    done = [e for e in engagements if completed(e)]
    ratings = _published(engagements, Party.EMPLOYER)
    skills = Counter(skill for e in done for skill in e.skills)
    summary = StudentSummary(
        completed_engagements=len(done),
        on_time_percent=_percent(sum(_on_time(e) for e in done), len(done)),
        ratings=len(ratings),
        average_rating_x100=_average_x100(ratings),
    )
    ordered = tuple(skill for skill, _ in sorted(skills.items(), key=lambda kv: (-kv[1], kv[0])))
    return StudentProfile(student_id, summary, ordered, tuple(ratings))


def employer_record(employer_org_id: str, engagements: list[Engagement]) -> EmployerRecord:
    """From every engagement of the organisation."""
    ratings = _published(engagements, Party.STUDENT)
    accepted = [e for e in engagements if e.outcome in {Outcome.APPROVED, Outcome.AUTO_APPROVED}]
    approved = sum(e.outcome is Outcome.APPROVED for e in accepted)
    return EmployerRecord(
        employer_org_id=employer_org_id,
        ratings=len(ratings),
        average_rating_x100=_average_x100(ratings),
        disputes=sum(e.dispute is not None for e in engagements),
        accepted_submissions=len(accepted),
        on_time_approval_percent=_percent(approved, len(accepted)),
    )
