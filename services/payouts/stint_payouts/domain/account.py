"""A student's payout account: where money goes. The destination is kept for the provider only;
everything shown, logged or published uses its last four characters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from stint_runtime.values import Money


class PayoutMethod(StrEnum):
    BANK_ACCOUNT = "BANK_ACCOUNT"
    DEBIT_CARD = "DEBIT_CARD"
    WALLET = "WALLET"


class TaxFormStatus(StrEnum):
    MISSING = "MISSING"
    SUBMITTED = "SUBMITTED"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


DEFAULT_PAYABLE_TAX_STATUSES = frozenset({TaxFormStatus.SUBMITTED, TaxFormStatus.VERIFIED})


@dataclass
class PayoutAccount:
    student_id: str
    method: PayoutMethod
    destination: str = field(repr=False)
    country: str
    currency: str
    tax_form_status: TaxFormStatus
    create_time: datetime
    update_time: datetime
    version: int = 0

    @property
    def destination_last4(self) -> str:
        return self.destination[-4:]

    def can_receive(self, amount: Money, payable_tax_statuses: frozenset[TaxFormStatus]) -> bool:
        """Payouts are made in the account's currency to students whose tax form allows it."""
        return amount.currency == self.currency and self.tax_form_status in payable_tax_statuses
