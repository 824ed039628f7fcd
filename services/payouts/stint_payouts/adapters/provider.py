"""The payment provider through the official `stripe` SDK: Stripe Connect transfers, or the
simulator (lib/stint_runtime/stack/payment_provider.py) when the API base points at it.

Error messages are reduced to Stripe's error type and code: they never carry a destination.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from stint_runtime.values import Money
from stripe import (
    APIConnectionError,
    IdempotencyError,
    InvalidRequestError,
    RateLimitError,
    RequestsClient,
    StripeClient,
    StripeError,
)

from stint_payouts.domain.reconciliation import ProviderTransfer
from stint_payouts.service_layer.ports import ProviderError, TransferRequest


def _transfer(found: Any) -> ProviderTransfer:
    return ProviderTransfer(
        id=str(found.id),
        payout_id=str(found.transfer_group or ""),
        amount=Money(int(found.amount), str(found.currency).upper()),
        reversed=bool(found.reversed),
    )


def _reason(exc: StripeError) -> ProviderError:
    status = exc.http_status or 0
    code = getattr(exc, "code", None) or ""
    kind = type(exc).__name__
    if isinstance(exc, APIConnectionError):
        return ProviderError(f"no response from the provider ({kind})")
    retryable = isinstance(exc, RateLimitError | IdempotencyError) or status >= 500
    if isinstance(exc, InvalidRequestError) and not retryable:
        return ProviderError(
            f"provider refused the transfer: {code or 'invalid request'} ({status})",
            retryable=False,
        )
    return ProviderError(f"provider error {status} {code}".strip(), retryable=retryable)


tracer = trace.get_tracer("stint.payouts.provider")


class StripeProvider:
    def __init__(self, api_key: str, api_base: str, timeout_seconds: float) -> None:
        self._client = StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=RequestsClient(timeout=timeout_seconds),
        )

    def create_transfer(self, request: TransferRequest) -> ProviderTransfer:
        params: dict[str, Any] = {
            "amount": request.amount.amount_minor,
            "currency": request.amount.currency.lower(),
            "destination": request.destination,
            "transfer_group": request.transfer_group,
            "metadata": dict(request.metadata),
        }
        with tracer.start_as_current_span(
            "provider transfers.create",
            kind=trace.SpanKind.CLIENT,
            attributes={"http.request.method": "POST", "stint.payout.id": request.transfer_group},
        ) as span:
            try:
                made = self._client.v1.transfers.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": request.idempotency_key},
                )
            except StripeError as exc:
                span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
                raise _reason(exc) from None
        return _transfer(made)

    def find_transfer(self, transfer_group: str) -> ProviderTransfer | None:
        try:
            found = self._client.v1.transfers.list(
                params={"transfer_group": transfer_group, "limit": 10}
            )
        except StripeError as exc:
            raise _reason(exc) from None
        live = [_transfer(t) for t in found.data if not t.reversed]
        return live[0] if live else None

    def list_transfers(self) -> Iterator[ProviderTransfer]:
        try:
            page = self._client.v1.transfers.list(params={"limit": 100})
            for found in page.auto_paging_iter():
                yield _transfer(found)
        except StripeError as exc:
            raise _reason(exc) from None
