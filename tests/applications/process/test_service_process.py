"""`python -m stint_applications` as a process: auto-approval fires after a restart whose clock
is past the deadline, and production refuses the public development signing key."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from pymongo.database import Database
from stint.applications.v1 import service_pb2_grpc
from stint_applications.entrypoints.app import DEV_KEY_IN_PRODUCTION
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import connect
from stint_runtime.stack.embedded import Endpoints

from tests.applications.api.kit import (
    ApplicationsClient,
    EngStatus,
    EventFeed,
    apply_once_known,
    new_student,
    published_events,
)
from tests.applications.process.conftest import Launcher
from tests.support.service_process import ServiceProcess
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
PRODUCTION_JWT_SECRET = "a-production-secret-that-is-not-the-dev-one"
# Production settings refuse to load without the issuer and audience tokens must carry.
PRODUCTION_TOKENS = {"STINT_JWT_ISSUER": "https://gateway.example", "STINT_JWT_AUDIENCE": "stint"}


@pytest.fixture
async def publisher(infra: Endpoints) -> AsyncIterator[KafkaPublisher]:
    async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="test-feed") as publisher:
        yield publisher


async def test_auto_approval_fires_after_a_restart_past_the_deadline(
    launch: Launcher, publisher: KafkaPublisher
) -> None:
    service = launch("applications")
    mongo = connect(service.settings)
    db: Database[Any] = mongo[service.settings.database_name]
    feed = EventFeed(publisher, SystemClock(), db, group=service.settings.consumer_group)
    service.start()
    try:
        async with insecure_channel(service.settings.grpc_address) as channel:
            await service.wait_serving(channel)
            client = ApplicationsClient(
                service_pb2_grpc.ApplicationsServiceStub(channel), service.settings
            )
            listing = await feed.published()
            student = new_student()
            applied = await apply_once_known(client, listing.id, student)
            offered = await client.offer(await client.shortlist(applied))
            engagement = (await client.accept(offered, student)).engagement
            submitted = await client.submit(engagement, student)
        assert service.stop() == 0, "the first run did not stop cleanly"

        deadline = submitted.deadline_time.ToDatetime(tzinfo=UTC)
        service.start(clock_offset=deadline - datetime.now(UTC) + timedelta(hours=1))
        async with insecure_channel(service.settings.grpc_address) as channel:
            await service.wait_serving(channel)
            client = ApplicationsClient(
                service_pb2_grpc.ApplicationsServiceStub(channel), service.settings
            )
            approved = await client.wait_engagement(
                submitted.id, EngStatus.ENGAGEMENT_STATUS_AUTO_APPROVED, limit=30
            )
        assert approved.update_time.ToDatetime(tzinfo=UTC) > deadline
        events = await published_events(service.settings.kafka_bootstrap_servers, approved.id, 3)
        assert events == ["EngagementStarted", "DeliverableSubmitted", "DeliverableApproved"]
    finally:
        mongo.close()


async def exit_code(service: ServiceProcess, limit: float = 60.0) -> int:
    process = service.process
    assert process is not None
    await eventually(
        lambda: not process.running(),
        limit=limit,
        what=lambda: f"the service to exit; log:\n{process.log_tail()}",
    )
    code = process.returncode
    assert code is not None
    return code


async def test_production_refuses_the_development_signing_key(launch: Launcher) -> None:
    production = {"environment": "production", "jwt_secret": SecretStr(PRODUCTION_JWT_SECRET)}
    refused = launch("applications", **production)
    refused.start(extra_env=PRODUCTION_TOKENS)
    assert await exit_code(refused) != 0
    assert refused.process is not None
    assert DEV_KEY_IN_PRODUCTION in refused.process.log_tail(200)

    signing_key = base64.b64encode(os.urandom(32)).decode()
    keyed = launch("applications", **production)
    keyed.start(
        extra_env={**PRODUCTION_TOKENS, "STINT_APPLICATIONS_COMPLETION_SIGNING_KEY": signing_key}
    )
    async with insecure_channel(keyed.settings.grpc_address) as channel:
        await keyed.wait_serving(channel)
    assert keyed.stop() == 0
