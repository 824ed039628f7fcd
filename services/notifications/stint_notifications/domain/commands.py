"""What callers ask of the service (already authenticated: `actor` is the caller)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stint_runtime.values import Actor, Money

from stint_notifications.domain.channels import Category, Channel, SkillAlertFrequency


@dataclass(frozen=True)
class RegisterContact:
    actor: Actor
    user_id: str
    email: str
    display_name: str = ""


@dataclass(frozen=True)
class SetPreferences:
    actor: Actor
    user_id: str
    channels: frozenset[Channel]
    muted_event_types: frozenset[str] = frozenset()
    categories: Mapping[Category, frozenset[Channel]] = field(default_factory=dict)
    skill_alerts: SkillAlertFrequency = SkillAlertFrequency.IMMEDIATE
    email_unsubscribed: bool = False


@dataclass(frozen=True)
class SubscribeSkills:
    actor: Actor
    user_id: str
    skills: tuple[str, ...]
    industry: str = ""
    remote_only: bool = False
    min_fee: Money | None = None


@dataclass(frozen=True)
class RegisterWebhook:
    actor: Actor
    owner_id: str
    url: str
    secret: str = ""
    event_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ListNotifications:
    actor: Actor
    user_id: str
    unread_only: bool = False
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class MarkRead:
    actor: Actor
    user_id: str
    notification_ids: tuple[str, ...]
