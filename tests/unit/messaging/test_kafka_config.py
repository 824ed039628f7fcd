"""Kafka security settings become client options, reach every client, and contradictions are
refused by name."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr
from stint_runtime.messaging.kafka_config import KafkaSecurityError, kafka_client_options
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import Subscriber
from stint_runtime.ops import OperatorError
from stint_runtime.ops import kafka_clients as cli_clients
from stint_runtime.persistence.unit_of_work import UnitOfWorkFactory
from stint_runtime.settings import StintSettings

from tests.support.kafka_tls import KEY_PASSWORD, TlsFiles, write_tls_files

SASL = {
    "kafka_security_protocol": "SASL_PLAINTEXT",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "stint",
    "kafka_sasl_password": SecretStr("s3cret"),
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return write_tls_files(tmp_path_factory.mktemp("tls"))


def _settings(**update: Any) -> StintSettings:
    return StintSettings(environment="test").model_copy(update=update)


def _mutual_tls(tls: TlsFiles, protocol: str = "SSL", **update: Any) -> StintSettings:
    files = {
        "kafka_security_protocol": protocol,
        "kafka_ssl_cafile": str(tls.cafile),
        "kafka_ssl_certfile": str(tls.client_cert),
        "kafka_ssl_keyfile": str(tls.client_key),
        "kafka_ssl_password": SecretStr(KEY_PASSWORD),
    }
    return _settings(**{**files, **update})


def test_plaintext_by_default() -> None:
    assert kafka_client_options(StintSettings()) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_options(mechanism: str) -> None:
    options = kafka_client_options(_settings(**{**SASL, "kafka_sasl_mechanism": mechanism}))
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "stint",
        "sasl_plain_password": "s3cret",
    }


def test_tls_verifies_the_broker_and_presents_the_client_certificate(tls: TlsFiles) -> None:
    options = kafka_client_options(
        _mutual_tls(tls, "SASL_SSL", **{k: v for k, v in SASL.items() if "protocol" not in k})
    )
    context: ssl.SSLContext = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"kafka_ssl_cafile": "/ca.pem"}, "STINT_KAFKA_SSL_CAFILE set but"),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nowhere/ca.pem"},
            "STINT_KAFKA_SSL_CAFILE='/nowhere/ca.pem': no such file",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "/k.pem"},
            "STINT_KAFKA_SSL_KEYFILE is set without STINT_KAFKA_SSL_CERTFILE",
        ),
        ({"kafka_security_protocol": "SASL_SSL"}, "needs STINT_KAFKA_SASL_MECHANISM"),
        (
            {**SASL, "kafka_sasl_password": SecretStr("")},
            "SASL_PLAINTEXT needs STINT_KAFKA_SASL_PASSWORD",
        ),
        ({"kafka_sasl_mechanism": "PLAIN"}, "does not use SASL"),
    ],
)
def test_incomplete_or_contradictory_settings_are_refused(
    update: dict[str, Any], message: str
) -> None:
    with pytest.raises(KafkaSecurityError) as refused:
        kafka_client_options(_settings(**update))
    assert message in str(refused.value)


def test_a_wrong_key_password_is_refused(tls: TlsFiles) -> None:
    with pytest.raises(KafkaSecurityError, match="STINT_KAFKA_SSL_PASSWORD"):
        kafka_client_options(_mutual_tls(tls, kafka_ssl_password=SecretStr("wrong")))


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STINT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("STINT_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256")
    monkeypatch.setenv("STINT_KAFKA_SASL_USERNAME", "svc")
    monkeypatch.setenv("STINT_KAFKA_SASL_PASSWORD", "pw")
    settings = StintSettings()
    assert (settings.kafka_sasl_mechanism, settings.kafka_sasl_password.get_secret_value()) == (
        "SCRAM-SHA-256",
        "pw",
    )
    assert "pw" not in repr(settings)


def _aiokafka_security(client: Any) -> tuple[Any, ...]:
    return (
        client._security_protocol,
        client._sasl_mechanism,
        client._sasl_plain_username,
        client._sasl_plain_password,
    )


async def test_sasl_settings_reach_the_services_producer_consumer_and_admin_client() -> None:
    settings = _settings(**SASL)
    expected = ("SASL_PLAINTEXT", "SCRAM-SHA-512", "stint", "s3cret")
    options = kafka_client_options(settings)
    # The configs the runtime's own classes hand to aiokafka (read before they connect).
    publisher = KafkaPublisher("127.0.0.1:1", client_id="p", **options)
    producer = AIOKafkaProducer(**publisher._config)
    subscriber = Subscriber.from_settings(
        settings,
        topics=["t"],
        handlers={},
        uow_factory=cast(UnitOfWorkFactory, None),
        dead_letters=publisher,
    )
    consumer = AIOKafkaConsumer(**subscriber._consumer_config)
    admin = AIOKafkaAdminClient(bootstrap_servers="127.0.0.1:1", **options)
    try:
        assert _aiokafka_security(producer.client) == expected
        assert _aiokafka_security(consumer._client) == expected
        assert _aiokafka_security(admin._client) == expected
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


@pytest.mark.parametrize("factory", [cli_clients.kafka_consumer, cli_clients.kafka_producer])
def test_sasl_settings_reach_the_cli_clients(monkeypatch: pytest.MonkeyPatch, factory: Any) -> None:
    seen: dict[str, Any] = {}

    class Recorder:
        def __init__(self, **config: Any) -> None:
            seen.update(config)

    monkeypatch.setattr("kafka.KafkaConsumer", Recorder)
    monkeypatch.setattr("kafka.KafkaProducer", Recorder)
    factory(_settings(**SASL), "127.0.0.1:1", "stint-test")
    assert seen["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (seen["sasl_plain_username"], seen["sasl_plain_password"]) == ("stint", "s3cret")


def test_bad_security_settings_are_a_cli_error(tmp_path: Path) -> None:
    with pytest.raises(OperatorError, match="STINT_KAFKA_SSL_CAFILE"):
        cli_clients.kafka_consumer(
            _settings(kafka_ssl_cafile=str(tmp_path / "ca.pem")), "127.0.0.1:1", "x"
        )
