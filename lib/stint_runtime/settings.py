"""Settings from the environment (prefix STINT_), with defaults that run on the embedded stack."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GRPC_PORTS: dict[str, int] = {
    "listings": 50051,
    "applications": 50052,
    "payouts": 50053,
    "notifications": 50054,
}
DEFAULT_METRICS_PORTS: dict[str, int] = {
    "listings": 9101,
    "applications": 9102,
    "payouts": 9103,
    "notifications": 9104,
}
EMBEDDED_KAFKA_PORT = 19092
EMBEDDED_MONGODB_PORT = 27117
EMBEDDED_SMTP_PORT = 2525
DEV_JWT_SECRET = "stint-dev-secret-change-me-in-production"  # noqa: S105 - documented dev default


class StintSettings(BaseSettings):
    """Settings shared by every service; each service reads them with its own name set."""

    model_config = SettingsConfigDict(env_prefix="STINT_", extra="ignore", frozen=True)

    service_name: str = "stint"
    environment: Literal["dev", "test", "production"] = "dev"

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    grpc_max_message_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)
    # Connection lifetime: keepalive pings find dead peers behind load balancers, and a maximum
    # connection age (GOAWAY, then a grace for calls in flight) makes clients reconnect, so
    # pods the autoscaler adds receive traffic. 0 turns the age limit off.
    grpc_keepalive_time_seconds: float = Field(default=60.0, gt=0)
    grpc_keepalive_timeout_seconds: float = Field(default=20.0, gt=0)
    grpc_max_connection_age_seconds: float = Field(default=300.0, ge=0)
    grpc_max_connection_age_grace_seconds: float = Field(default=30.0, ge=0)

    kafka_bootstrap_servers: str = Field(
        default=f"127.0.0.1:{EMBEDDED_KAFKA_PORT}",
        validation_alias=AliasChoices("STINT_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_enable_idempotence: bool = False
    kafka_topic_partitions: int = Field(default=3, ge=1)
    kafka_max_attempts: int = Field(default=5, ge=1)
    kafka_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    kafka_retry_backoff_max_seconds: float = Field(default=5.0, ge=0)

    # Topic provisioning, Kafka security, JWKS caching and server reflection (runtime hardening).
    kafka_create_topics: bool = True
    kafka_topic_replication_factor: int = Field(default=1, ge=1)
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    kafka_ssl_password: SecretStr = SecretStr("")
    jwt_jwks_cache_seconds: float = Field(default=300.0, gt=0)
    jwt_jwks_refresh_interval_seconds: float = Field(default=30.0, ge=0)
    grpc_reflection: bool = True

    mongodb_uri: str = Field(
        default=f"mongodb://127.0.0.1:{EMBEDDED_MONGODB_PORT}/?directConnection=true",
        validation_alias=AliasChoices("STINT_MONGODB_URI", "MONGODB_URI"),
    )
    mongodb_database: str = ""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = EMBEDDED_SMTP_PORT

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str = ""
    jwt_jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_leeway_seconds: int = Field(default=30, ge=0)

    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    idempotency_lease_seconds: int = Field(default=60, ge=1)

    outbox_poll_seconds: float = Field(default=0.2, gt=0)
    timer_poll_seconds: float = Field(default=1.0, gt=0)
    clock_offset_seconds: float = 0.0
    # Development only: a file holding an offset in seconds, re-read when it changes (make run).
    clock_file: str = ""

    # Failure handling: outages are retried for as long as they last; health turns NOT_SERVING
    # once one lasts longer than unhealthy_after_seconds. Only deterministic failures spend
    # the attempt budgets (then a dead letter, a parked outbox record or a failed timer).
    unhealthy_after_seconds: float = Field(default=10.0, ge=0)
    dead_letter_timeout_seconds: float = Field(default=10.0, gt=0)
    outbox_max_attempts: int = Field(default=5, ge=1)
    outbox_retry_backoff_seconds: float = Field(default=1.0, ge=0)
    outbox_lease_seconds: float = Field(default=10.0, gt=0)
    timer_max_attempts: int = Field(default=10, ge=1)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_consumer_group: str = ""  # default: the service's name

    # Prometheus /metrics: None = the service's default port (9101..9104), 0 = any free port,
    # -1 = off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=-1, le=65535)

    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_endpoint: str = "http://127.0.0.1:4317"

    @model_validator(mode="after")
    def _no_dev_secret_in_production(self) -> StintSettings:
        uses_dev_secret = self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        if self.environment == "production" and self.jwt_algorithm == "HS256" and uses_dev_secret:
            raise ValueError("STINT_JWT_SECRET must be set in production: the dev secret is public")
        return self

    @model_validator(mode="after")
    def _no_clock_file_in_production(self) -> StintSettings:
        if self.environment == "production" and self.clock_file:
            raise ValueError("STINT_CLOCK_FILE is for development and tests: refused in production")
        return self

    @model_validator(mode="after")
    def _issuer_and_audience_in_production(self) -> StintSettings:
        missing = [
            name
            for name, value in (
                ("STINT_JWT_ISSUER", self.jwt_issuer),
                ("STINT_JWT_AUDIENCE", self.jwt_audience),
            )
            if not value
        ]
        if self.environment == "production" and missing:
            raise ValueError(
                f"{' and '.join(missing)} must be set in production: tokens minted for another "
                "issuer or audience would otherwise be accepted"
            )
        return self

    @property
    def database_name(self) -> str:
        """Each service owns its database; by default it is named after the service."""
        return self.mongodb_database or f"stint_{self.service_name}"

    @property
    def consumer_group(self) -> str:
        """The service's consumer group (its dead-letter topics are named after it)."""
        return self.kafka_consumer_group or self.service_name

    @property
    def metrics_port_or_default(self) -> int:
        if self.metrics_port is not None:
            return self.metrics_port
        return DEFAULT_METRICS_PORTS.get(self.service_name, 0)

    @property
    def grpc_address(self) -> str:
        port = self.grpc_port or DEFAULT_GRPC_PORTS.get(self.service_name, 0)
        return f"{self.grpc_host}:{port}"


def load_settings(service_name: str) -> StintSettings:
    """Settings for one service; STINT_SERVICE_NAME in the environment cannot rename it."""
    return StintSettings().model_copy(update={"service_name": service_name})
