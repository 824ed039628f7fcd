"""Listings-specific settings (env prefix STINT_LISTINGS_); defaults from DESIGN.md §2."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stint_listings.domain.rules import DEFAULT_CURRENCIES, Currency, PostingRules, currency_table


class CurrencySettings(BaseModel):
    exponent: int = Field(ge=0, le=4)
    hourly_floor_minor: int = Field(ge=0)


def _default_currencies() -> dict[str, CurrencySettings]:
    return {
        c.code: CurrencySettings(exponent=c.exponent, hourly_floor_minor=c.hourly_floor_minor)
        for c in DEFAULT_CURRENCIES
    }


class ListingsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STINT_LISTINGS_", extra="ignore", frozen=True)

    # The currencies fees may be posted in (ISO 4217 code -> minor-unit exponent and hourly
    # floor in minor units); any other is refused. In the environment a JSON object, e.g.
    # {"USD": {"exponent": 2, "hourly_floor_minor": 2000}, "JPY": {"exponent": 0,
    # "hourly_floor_minor": 3000}}: it replaces the default table (USD EUR GBP CAD AUD, 20.00/h).
    currencies: dict[str, CurrencySettings] = Field(default_factory=_default_currencies)
    min_hours: int = Field(default=5, ge=1)
    max_hours: int = Field(default=40, ge=1)
    due_min_days: int = Field(default=7, ge=0)
    due_max_days: int = Field(default=60, ge=1)
    default_page_size: int = Field(default=20, ge=1, le=100)

    def posting_rules(self) -> PostingRules:
        return PostingRules(
            min_hours=self.min_hours,
            max_hours=self.max_hours,
            currencies=currency_table(
                [
                    Currency(code, c.exponent, c.hourly_floor_minor)
                    for code, c in self.currencies.items()
                ]
            ),
            due_min_days=self.due_min_days,
            due_max_days=self.due_max_days,
        )
