"""What a user wants to hear, on which channel; defaults: every channel, alerts immediately."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from stint_notifications.domain.channels import (
    ALL_CHANNELS,
    Category,
    Channel,
    SkillAlertFrequency,
)

NONE: frozenset[Channel] = frozenset()


@dataclass(frozen=True)
class Preferences:
    user_id: str
    channels: frozenset[Channel] = ALL_CHANNELS
    categories: Mapping[Category, frozenset[Channel]] = field(default_factory=dict)
    muted_event_types: frozenset[str] = frozenset()
    skill_alerts: SkillAlertFrequency = SkillAlertFrequency.IMMEDIATE
    email_unsubscribed: bool = False
    update_time: datetime | None = None

    def channels_for(self, category: Category, event_type: str) -> frozenset[Channel]:
        """The channels this user wants for one event of `category`."""
        if event_type in self.muted_event_types:
            return NONE
        if category is Category.SKILL_ALERTS and self.skill_alerts is SkillAlertFrequency.OFF:
            return NONE
        chosen = self.categories.get(category, self.channels)
        if self.email_unsubscribed:
            chosen = chosen - {Channel.EMAIL}
        return frozenset(chosen)

    def alert_email_now(self) -> bool:
        """Skill alert emails go out at once (not gathered into the daily digest)."""
        return self.skill_alerts is SkillAlertFrequency.IMMEDIATE


def defaults(user_id: str) -> Preferences:
    return Preferences(user_id=user_id)
