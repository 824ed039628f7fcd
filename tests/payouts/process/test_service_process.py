"""`python -m stint_payouts` as a process: production refuses the development provider key."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr
from stint_payouts.entrypoints.app import DEV_KEY_IN_PRODUCTION
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.settings import load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.support.service_process import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def production(infra: Endpoints, log_dir: Path) -> ServiceProcess:
    settings = load_settings("payouts").model_copy(
        update={
            "environment": "production",
            "jwt_secret": SecretStr("a-production-secret-that-is-not-the-dev-one"),
            # production requires an issuer and an audience
            "jwt_issuer": "gateway",
            "jwt_audience": "stint",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
            "mongodb_uri": infra.mongodb_uri,
            "mongodb_database": f"t_payouts_prod_{uuid.uuid4().hex[:8]}",
        }
    )
    return ServiceProcess(settings, log_dir)


async def test_production_refuses_the_development_provider_key(
    infra: Endpoints, tmp_path: Path
) -> None:
    refused = production(infra, tmp_path)
    process = refused.start()
    deadline = time.monotonic() + 60
    while process.running():
        assert time.monotonic() < deadline, process.log_tail()
        await asyncio.sleep(0.1)
    assert process.returncode != 0
    assert DEV_KEY_IN_PRODUCTION in process.log_tail(200)

    keyed = production(infra, tmp_path)
    keyed.start(extra_env={"STINT_PAYOUTS_PROVIDER_API_KEY": "sk_live_a_real_key"})
    try:
        async with insecure_channel(keyed.settings.grpc_address) as channel:
            await keyed.wait_serving(channel)
    finally:
        assert keyed.stop() == 0
