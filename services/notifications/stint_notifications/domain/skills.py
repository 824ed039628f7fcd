"""Skill subscriptions and which published listings match them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stint_runtime.values import Money


@dataclass(frozen=True)
class ListingSummary:
    """What a skill alert needs of a published listing."""

    listing_id: str
    title: str
    skills: frozenset[str]
    industry: str
    remote: bool
    fee: Money | None


@dataclass(frozen=True)
class SkillSubscription:
    user_id: str
    skills: frozenset[str]
    industry: str = ""
    remote_only: bool = False
    min_fee: Money | None = None
    update_time: datetime | None = None

    def matches(self, listing: ListingSummary) -> bool:
        if not self.skills & listing.skills:
            return False
        if self.industry and self.industry != listing.industry:
            return False
        if self.remote_only and not listing.remote:
            return False
        if self.min_fee is not None:
            fee = listing.fee
            if fee is None or fee.currency != self.min_fee.currency:
                return False
            if fee.amount_minor < self.min_fee.amount_minor:
                return False
        return True


def skill_key(skill: str) -> str:
    """Skills match case-insensitively, ignoring surrounding space."""
    return skill.strip().lower()


def subscription(
    user_id: str,
    skills: list[str],
    industry: str,
    remote_only: bool,
    min_fee: Money | None,
    now: datetime,
) -> SkillSubscription:
    return SkillSubscription(
        user_id=user_id,
        skills=frozenset(skill_key(s) for s in skills if skill_key(s)),
        industry=skill_key(industry),
        remote_only=remote_only,
        min_fee=min_fee,
        update_time=now,
    )
