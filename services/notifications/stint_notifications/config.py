"""Notifications-specific settings (env prefix STINT_NOTIFICATIONS_).

SMTP host and port are the runtime's (STINT_SMTP_HOST / STINT_SMTP_PORT); TLS, credentials and
the sender address are here. Webhook targets in loopback ranges are allowed by default (for
development); in production they are refused unless WEBHOOK_ALLOW_LOOPBACK is set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stint_notifications.domain.webhooks import RETRY_SCHEDULE, TargetPolicy
from stint_notifications.service_layer.delivery import DeliveryPolicy


class NotificationsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STINT_NOTIFICATIONS_", extra="ignore", frozen=True
    )

    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    email_from: str = "Stint <notifications@stint.invalid>"
    # Waits after failed email attempts 1, 2, 3 (then it fails for good).
    email_retry_seconds: list[float] = Field(default_factory=lambda: [60.0, 300.0, 1800.0])
    webhook_retry_seconds: list[float] = Field(
        default_factory=lambda: [d.total_seconds() for d in RETRY_SCHEDULE]
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_disable_after_days: float = Field(default=5, gt=0)
    webhook_allow_loopback: bool = True
    webhook_allow_private: bool = False
    delivery_lease_seconds: float = Field(default=300, gt=0)
    delivery_concurrency: int = Field(default=8, ge=1, le=256)
    dispatch_batch: int = Field(default=100, ge=1)
    fanout_batch: int = Field(default=500, ge=1, le=5000)
    digest_delay_hours: float = Field(default=24, gt=0)
    default_page_size: int = Field(default=20, ge=1, le=100)

    def targets(self, environment: str = "dev") -> TargetPolicy:
        """Webhook target ranges; production refuses loopback unless it is explicitly allowed."""
        loopback = self.webhook_allow_loopback
        if environment == "production" and "webhook_allow_loopback" not in self.model_fields_set:
            loopback = False
        return TargetPolicy(allow_loopback=loopback, allow_private=self.webhook_allow_private)

    def delivery_policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            email_retries=[timedelta(seconds=s) for s in self.email_retry_seconds],
            webhook_retries=[timedelta(seconds=s) for s in self.webhook_retry_seconds],
            lease=timedelta(seconds=self.delivery_lease_seconds),
            disable_webhook_after=timedelta(days=self.webhook_disable_after_days),
        )
