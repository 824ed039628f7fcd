"""Ways of reaching a user, the categories users switch them for, and skill alert frequency."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"
    WEBHOOK = "webhook"


class Category(StrEnum):
    APPLICATIONS = "applications"
    ENGAGEMENTS = "engagements"
    PAYOUTS = "payouts"
    LISTINGS = "listings"
    SKILL_ALERTS = "skill_alerts"
    OPERATIONS = "operations"
    ACCOUNT = "account"


class SkillAlertFrequency(StrEnum):
    IMMEDIATE = "immediate"
    DAILY_DIGEST = "daily_digest"
    OFF = "off"


ALL_CHANNELS = frozenset(Channel)
