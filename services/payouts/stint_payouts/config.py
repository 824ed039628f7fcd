"""Payouts-specific settings (env prefix STINT_PAYOUTS_); defaults from DESIGN.md §2."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from stint_payouts.domain.account import TaxFormStatus
from stint_payouts.domain.payout import RetryPolicy
from stint_payouts.service_layer.handlers import Rules

DEV_PROVIDER_KEY = "sk_test_stint_simulator"
SIMULATOR_URL = "http://127.0.0.1:12111"


class PayoutsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STINT_PAYOUTS_", extra="ignore", frozen=True)

    platform_fee_basis_points: int = Field(default=1000, ge=0, le=10_000)
    retry_max_attempts: int = Field(default=6, ge=1)
    retry_initial_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    # Tax-form states that allow a payout (others hold it).
    payable_tax_statuses: frozenset[TaxFormStatus] = frozenset(
        {TaxFormStatus.SUBMITTED, TaxFormStatus.VERIFIED}
    )
    default_page_size: int = Field(default=20, ge=1, le=100)
    # Empty: the SDK's default (https://api.stripe.com); `make run` points it at the simulator.
    provider_api_base: str = SIMULATOR_URL
    provider_api_key: SecretStr = SecretStr(DEV_PROVIDER_KEY)
    provider_timeout_seconds: float = Field(default=10.0, gt=0)
    processor_poll_seconds: float = Field(default=0.5, gt=0)
    processor_concurrency: int = Field(default=8, ge=1)
    reconcile_every_hours: float = Field(default=24.0, gt=0)

    def rules(self) -> Rules:
        return Rules(
            platform_fee_basis_points=self.platform_fee_basis_points,
            retry=RetryPolicy(
                max_attempts=self.retry_max_attempts,
                initial=timedelta(seconds=self.retry_initial_seconds),
                maximum=timedelta(seconds=self.retry_max_seconds),
            ),
            payable_tax_statuses=self.payable_tax_statuses,
            attempt_lease=timedelta(seconds=2 * self.provider_timeout_seconds + 5),
        )

    @property
    def uses_dev_provider_key(self) -> bool:
        return self.provider_api_key.get_secret_value() == DEV_PROVIDER_KEY
