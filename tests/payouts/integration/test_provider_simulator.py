"""The provider simulator through the stripe SDK adapter: idempotency, Stripe-shaped refusals,
lost responses, and transfers that survive a kill -9 of the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from stint_payouts.adapters.provider import StripeProvider
from stint_payouts.service_layer.ports import ProviderError, TransferRequest
from stint_runtime.stack.payment_provider import simulator_url, start_simulator
from stint_runtime.stack.processes import free_port
from stint_runtime.values import Money

from tests.payouts.api.kit import Simulator

pytestmark = pytest.mark.integration


def request(
    key: str, amount: int = 1_234, group: str = "pay-1", to: str = "acct_0001"
) -> TransferRequest:
    return TransferRequest(Money(amount, "USD"), to, key, group, {"payout_id": group})


def test_the_simulator_keeps_stripe_semantics_across_a_kill(tmp_path: Path) -> None:
    port = free_port()
    process = start_simulator(tmp_path / "data", port, tmp_path / "log")
    provider = StripeProvider("sk_test_sim", simulator_url(port), 5)
    try:
        first = provider.create_transfer(request("k1"))
        assert provider.create_transfer(request("k1")) == first
        with pytest.raises(ProviderError, match="provider error 400"):
            provider.create_transfer(request("k1", amount=999))  # same key, other parameters
        with pytest.raises(ProviderError, match="balance_insufficient") as declined:
            provider.create_transfer(request("k2", group="pay-2", to="acct_decline_1"))
        assert not declined.value.retryable
        assert "acct_decline" not in declined.value.reason
        Simulator(simulator_url(port)).faults(lost_response_rate=1)
        with pytest.raises(ProviderError, match="no response"):
            provider.create_transfer(request("k3", group="pay-3"))
        lost = provider.find_transfer("pay-3")
        assert lost is not None
        Simulator(simulator_url(port)).faults(lost_response_rate=0, failure_rate=1)
        with pytest.raises(ProviderError, match="500") as failed:
            provider.create_transfer(request("k4", group="pay-4"))
        assert failed.value.retryable
        assert provider.find_transfer("pay-4") is None
        process.kill()
        process = start_simulator(tmp_path / "data", port, tmp_path / "log")
        assert provider.create_transfer(request("k1")) == first
        assert {t.id for t in provider.list_transfers()} == {first.id, lost.id}
    finally:
        process.stop()
