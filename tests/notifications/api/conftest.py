"""One notifications service for the whole api package, in process, on the real broker,
database and SMTP sink, with a ManualClock the tests move (reset before each test).

Every test makes its own users, orgs and listings, so tests never see each other's data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from stint.notifications.v1 import service_pb2_grpc
from stint_notifications.adapters.email import SmtpConfig, SmtpSender
from stint_notifications.adapters.webhooks import HttpWebhookSender
from stint_notifications.bootstrap import Sender
from stint_notifications.config import NotificationsSettings
from stint_notifications.entrypoints.app import NotificationsService
from stint_runtime.clock import ManualClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import StintSettings
from stint_runtime.stack.backends import Backend
from stint_runtime.stack.embedded import Endpoints

from tests.notifications.events import NOW
from tests.notifications.kit import EventFeed, FaultySender, Mailbox, NotificationsClient
from tests.support.service_app import serving
from tests.support.service_settings import settings_for_test

pytestmark = pytest.mark.integration


@pytest.fixture(scope="package")
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(autouse=True)
def _clock_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


@pytest.fixture(scope="package")
def service_settings(infra: Endpoints) -> StintSettings:
    return settings_for_test(
        "notifications",
        infra,
        "api",
        smtp_host=infra.smtp_host,
        smtp_port=infra.smtp_port,
        outbox_poll_seconds=0.1,
        timer_poll_seconds=0.1,
        shutdown_grace_seconds=2.0,
        log_level="INFO",
    )


@pytest.fixture(scope="package")
def config() -> NotificationsSettings:
    return NotificationsSettings(fanout_batch=50)


@pytest.fixture(scope="package")
def faults(service_settings: StintSettings, config: NotificationsSettings) -> FaultySender:
    """The real SMTP sender, with failures the tests ask for."""
    smtp = SmtpConfig(
        host=service_settings.smtp_host, port=service_settings.smtp_port, sender=config.email_from
    )
    return FaultySender(SmtpSender(smtp))


@pytest.fixture(scope="package")
async def service(
    service_settings: StintSettings,
    clock: ManualClock,
    config: NotificationsSettings,
    faults: FaultySender,
) -> AsyncIterator[NotificationsService]:
    senders: dict[str, Sender] = {
        "email": faults,
        "webhook": HttpWebhookSender(config.targets(), config.webhook_timeout_seconds),
    }
    app = NotificationsService(service_settings, config=config, clock=clock, senders=senders)
    async with serving(app):
        yield app


@pytest.fixture(scope="package")
def db(service: NotificationsService) -> Database[Any]:
    assert service.runtime is not None
    return service.runtime.units.db


@pytest.fixture(scope="package")
async def client(service: NotificationsService) -> AsyncIterator[NotificationsClient]:
    async with insecure_channel(service.address) as channel:
        stub = service_pb2_grpc.NotificationsServiceStub(channel)
        yield NotificationsClient(stub, service.settings)


@pytest.fixture(scope="package")
async def feed(service: NotificationsService, clock: ManualClock) -> AsyncIterator[EventFeed]:
    publisher = KafkaPublisher(service.settings.kafka_bootstrap_servers, client_id="test-feed")
    await publisher.start()
    try:
        yield EventFeed(publisher, clock)
    finally:
        await publisher.stop()


@pytest.fixture(scope="package")
def mailbox(infra_backend: Backend) -> Mailbox:
    assert infra_backend.maildir is not None, "the SMTP sink keeps mail in a maildir"
    return Mailbox(Path(infra_backend.maildir))
