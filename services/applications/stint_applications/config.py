"""Applications-specific settings (env prefix STINT_APPLICATIONS_); defaults from DESIGN.md §2."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stint_applications.adapters.signing import (
    CompletionSigner,
    KeyRing,
    dev_private_key,
    private_key_from_base64,
    public_key_from_base64,
)
from stint_applications.domain.rules import Policy


class ApplicationsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STINT_APPLICATIONS_", extra="ignore", frozen=True)

    response_sla_days: float = Field(default=7, gt=0)
    revision_limit: int = Field(default=2, ge=0)
    auto_approve_days: float = Field(default=7, gt=0)
    engagement_grace_days: float = Field(default=3, ge=0)
    feedback_window_days: float = Field(default=14, gt=0)
    revision_window_days: float = Field(default=7, gt=0)
    offer_window_days: float = Field(default=3, gt=0)
    max_applications_per_listing: int = Field(default=3, ge=1)
    default_page_size: int = Field(default=20, ge=1, le=100)
    # A raw 32-byte Ed25519 private key, base64. Empty: the dev key derived from the public
    # signing.DEV_SEED (dev and tests only; production must set a real key).
    completion_signing_key: SecretStr = SecretStr("")
    # Public keys of retired signing keys (raw 32 bytes, base64, comma-separated): still listed
    # by ListSigningKeys and accepted by VerifyCompletionRecord after a rotation.
    completion_retired_keys: str = ""

    def policy(self) -> Policy:
        return Policy(
            response_sla=timedelta(days=self.response_sla_days),
            revision_limit=self.revision_limit,
            auto_approve_after=timedelta(days=self.auto_approve_days),
            engagement_grace=timedelta(days=self.engagement_grace_days),
            feedback_window=timedelta(days=self.feedback_window_days),
            revision_window=timedelta(days=self.revision_window_days),
            offer_window=timedelta(days=self.offer_window_days),
            max_applications_per_listing=self.max_applications_per_listing,
        )

    @property
    def uses_dev_signing_key(self) -> bool:
        return not self.completion_signing_key.get_secret_value()

    def completion_signer(self) -> CompletionSigner:
        encoded = self.completion_signing_key.get_secret_value()
        return CompletionSigner(private_key_from_base64(encoded) if encoded else dev_private_key())

    def key_ring(self) -> KeyRing:
        retired = [k.strip() for k in self.completion_retired_keys.split(",") if k.strip()]
        return KeyRing(self.completion_signer(), [public_key_from_base64(k) for k in retired])
