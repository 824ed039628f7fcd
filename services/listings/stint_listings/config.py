"""Listings-specific settings (env prefix STINT_LISTINGS_); defaults from DESIGN.md §2."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stint_listings.domain.rules import PostingRules


class ListingsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STINT_LISTINGS_", extra="ignore", frozen=True)

    # Minor units per hour, applied to every currency not listed in hourly_floor_by_currency
    # (a JSON object in the environment, e.g. {"JPY": 3000}).
    hourly_floor_minor: int = Field(default=2_000, ge=0)
    hourly_floor_by_currency: dict[str, int] = Field(default_factory=dict)
    min_hours: int = Field(default=5, ge=1)
    max_hours: int = Field(default=40, ge=1)
    due_min_days: int = Field(default=7, ge=0)
    due_max_days: int = Field(default=60, ge=1)
    default_page_size: int = Field(default=20, ge=1, le=100)

    def posting_rules(self) -> PostingRules:
        return PostingRules(
            min_hours=self.min_hours,
            max_hours=self.max_hours,
            hourly_floor_minor=self.hourly_floor_minor,
            hourly_floor_by_currency=dict(self.hourly_floor_by_currency),
            due_min_days=self.due_min_days,
            due_max_days=self.due_max_days,
        )
