"""TLS settings reach every Kafka client for real: each one completes a mutual-TLS handshake
with a loopback listener that trusts only our throwaway CA and records the client certificate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr
from stint_runtime.messaging.kafka_config import kafka_client_options
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Subscriber
from stint_runtime.messaging.topics import provision_topics
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.settings import StintSettings

from tests.support.kafka_tls import (
    CLIENT_NAME,
    KEY_PASSWORD,
    TlsFiles,
    TlsListener,
    write_tls_files,
)

pytestmark = pytest.mark.integration

STINT = str(Path(sys.executable).parent / "stint")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return write_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def listener(tls: TlsFiles) -> Iterator[TlsListener]:
    with TlsListener(tls) as running:
        yield running


def _settings(tls: TlsFiles, listener: TlsListener, *, client_cert: bool = True) -> StintSettings:
    update: dict[str, Any] = {
        "kafka_bootstrap_servers": listener.address,
        "kafka_security_protocol": "SSL",
        "kafka_ssl_cafile": str(tls.cafile),
    }
    if client_cert:
        update |= {
            "kafka_ssl_certfile": str(tls.client_cert),
            "kafka_ssl_keyfile": str(tls.client_key),
            "kafka_ssl_password": SecretStr(KEY_PASSWORD),
        }
    return StintSettings(environment="test").model_copy(update=update)


async def _attempt(connect: Callable[[], Awaitable[Any]]) -> None:
    """The listener speaks no Kafka: the client fails once the handshake is done."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connect(), 20)


async def _handshake_seen(listener: TlsListener) -> bool:
    return await asyncio.to_thread(listener.seen.wait, 10)


async def test_the_publisher_presents_the_client_certificate(
    tls: TlsFiles, listener: TlsListener
) -> None:
    settings = _settings(tls, listener)
    publisher = KafkaPublisher(listener.address, client_id="p", **kafka_client_options(settings))
    try:
        await _attempt(publisher.start)
    finally:
        await publisher.stop()
    assert await _handshake_seen(listener)
    assert CLIENT_NAME in listener.clients


async def test_the_admin_client_of_provision_topics_presents_it(
    tls: TlsFiles, listener: TlsListener
) -> None:
    await _attempt(lambda: provision_topics(_settings(tls, listener), ["t"]))
    assert await _handshake_seen(listener)
    assert CLIENT_NAME in listener.clients


async def test_the_subscribers_consumer_presents_it(tls: TlsFiles, listener: TlsListener) -> None:
    settings = _settings(tls, listener)
    subscriber = Subscriber.from_settings(
        settings,
        topics=["t"],
        handlers={},
        uow_factory=cast(UnitOfWorkFactory, None),
        dead_letters=KafkaPublisher(listener.address, client_id="unused"),
    )
    # Subscriber.start also prepares the inbox in MongoDB; its consumer is built from this.
    consumer = AIOKafkaConsumer(**subscriber._consumer_config)
    try:
        await _attempt(consumer.start)
    finally:
        await consumer.stop()
    assert await _handshake_seen(listener)
    assert CLIENT_NAME in listener.clients


async def test_the_cli_presents_it(tls: TlsFiles, listener: TlsListener) -> None:
    env = {
        **os.environ,
        "STINT_KAFKA_SECURITY_PROTOCOL": "SSL",
        "STINT_KAFKA_SSL_CAFILE": str(tls.cafile),
        "STINT_KAFKA_SSL_CERTFILE": str(tls.client_cert),
        "STINT_KAFKA_SSL_KEYFILE": str(tls.client_key),
        "STINT_KAFKA_SSL_PASSWORD": KEY_PASSWORD,
    }
    args = [STINT, "dlq", "list", "x.dlt", "--bootstrap-servers", listener.address]
    result = await asyncio.to_thread(
        subprocess.run, args, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 1
    assert "cannot reach Kafka" in result.stderr
    assert await _handshake_seen(listener)
    assert CLIENT_NAME in listener.clients


async def test_without_the_client_certificate_the_listener_refuses(
    tls: TlsFiles, listener: TlsListener
) -> None:
    settings = _settings(tls, listener, client_cert=False)
    publisher = KafkaPublisher(listener.address, client_id="p", **kafka_client_options(settings))
    try:
        await _attempt(publisher.start)
    finally:
        await publisher.stop()
    assert listener.clients == []
