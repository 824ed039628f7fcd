"""Kafka connection security (TLS, SASL) from settings, as keyword options for every client.

aiokafka's producer, consumer and admin client and kafka-python's clients (the `stint` CLI)
take the same names: security_protocol, ssl_context, sasl_mechanism, sasl_plain_username,
sasl_plain_password. Settings that contradict each other are refused, never silently ignored
(e.g. a CA file with PLAINTEXT would otherwise connect without TLS).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from stint_runtime.settings import StintSettings

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaSecurityError(ValueError):
    """The Kafka security settings are incomplete or contradict each other."""


def _existing_file(variable: str, path: str) -> str:
    if not Path(path).is_file():
        raise KafkaSecurityError(f"{variable}={path!r}: no such file")
    return path


def kafka_ssl_context(settings: StintSettings) -> ssl.SSLContext:
    """Verifies the brokers (settings' CA file, else the system's CAs) and their host names;
    presents a client certificate when one is configured (mutual TLS)."""
    cafile = settings.kafka_ssl_cafile
    certfile, keyfile = settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile
    if keyfile and not certfile:
        raise KafkaSecurityError("STINT_KAFKA_SSL_KEYFILE is set without STINT_KAFKA_SSL_CERTFILE")
    context = ssl.create_default_context(
        cafile=_existing_file("STINT_KAFKA_SSL_CAFILE", cafile) if cafile else None
    )
    if certfile:
        password = settings.kafka_ssl_password.get_secret_value() or None
        try:
            context.load_cert_chain(
                _existing_file("STINT_KAFKA_SSL_CERTFILE", certfile),
                _existing_file("STINT_KAFKA_SSL_KEYFILE", keyfile) if keyfile else None,
                password,
            )
        except ssl.SSLError as error:
            raise KafkaSecurityError(
                "STINT_KAFKA_SSL_CERTFILE/KEYFILE cannot be loaded (wrong key, format or "
                f"STINT_KAFKA_SSL_PASSWORD): {error.reason or error}"
            ) from None
    return context


def kafka_client_options(settings: StintSettings) -> dict[str, Any]:
    """The security keyword options for any Kafka client; raises KafkaSecurityError."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    tls_files = [
        name
        for name, value in (
            ("STINT_KAFKA_SSL_CAFILE", settings.kafka_ssl_cafile),
            ("STINT_KAFKA_SSL_CERTFILE", settings.kafka_ssl_certfile),
            ("STINT_KAFKA_SSL_KEYFILE", settings.kafka_ssl_keyfile),
        )
        if value
    ]
    if protocol in TLS_PROTOCOLS:
        options["ssl_context"] = kafka_ssl_context(settings)
    elif tls_files:
        raise KafkaSecurityError(
            f"{', '.join(tls_files)} set but STINT_KAFKA_SECURITY_PROTOCOL={protocol} does not "
            "use TLS (use SSL or SASL_SSL)"
        )
    sasl = settings.kafka_sasl_mechanism
    if protocol in SASL_PROTOCOLS:
        username = settings.kafka_sasl_username
        password = settings.kafka_sasl_password.get_secret_value()
        missing = [
            name
            for name, value in (
                ("STINT_KAFKA_SASL_MECHANISM", sasl),
                ("STINT_KAFKA_SASL_USERNAME", username),
                ("STINT_KAFKA_SASL_PASSWORD", password),
            )
            if not value
        ]
        if missing:
            raise KafkaSecurityError(
                f"STINT_KAFKA_SECURITY_PROTOCOL={protocol} needs {', '.join(missing)}"
            )
        options.update(
            sasl_mechanism=sasl, sasl_plain_username=username, sasl_plain_password=password
        )
    elif sasl or settings.kafka_sasl_username:
        raise KafkaSecurityError(
            f"SASL settings are set but STINT_KAFKA_SECURITY_PROTOCOL={protocol} does not use "
            "SASL (use SASL_PLAINTEXT or SASL_SSL)"
        )
    return options
