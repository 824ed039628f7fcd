"""The grpc.aio server every Stint service runs: its services behind the call pipeline, health,
reflection, a message size limit, keepalive and a maximum connection age, and a graceful stop
(NOT_SERVING first, then drain)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from stint_runtime.grpc.auth import TokenVerifier
from stint_runtime.grpc.idempotency import IdempotencyStore
from stint_runtime.grpc.pipeline import CallPipeline, MethodSpec
from stint_runtime.grpc.policy import PolicyError, ServicePolicy, full_method_name
from stint_runtime.grpc.reflection import enable_reflection
from stint_runtime.grpc.validation import RequestValidator
from stint_runtime.settings import StintSettings

_log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer, how to register it (the generated add_*_to_server) and its declared policy."""

    descriptor: ServiceDescriptor
    servicer: object
    add_to_server: Callable[[Any, Any], None]
    policy: ServicePolicy


def method_specs(binding: ServiceBinding) -> dict[str, MethodSpec]:
    """The pipeline's view of a service; raises PolicyError when the policy does not cover it."""
    binding.policy.check_covers(binding.descriptor)
    specs: dict[str, MethodSpec] = {}
    for method in binding.descriptor.methods:
        if method.client_streaming or method.server_streaming:
            raise PolicyError(f"{method.full_name}: only unary RPCs are supported")
        full_name = full_method_name(binding.descriptor.full_name, method.name)
        specs[full_name] = MethodSpec(
            full_name=full_name,
            name=method.name,
            policy=binding.policy,
            request_type=message_factory.GetMessageClass(method.input_type),
            response_type=message_factory.GetMessageClass(method.output_type),
        )
    return specs


class StintServer:
    """A built server: start it, stop it gracefully (ServiceApp does both on signals)."""

    def __init__(
        self, server: grpc.aio.Server, health: HealthServicer, address: str, services: Sequence[str]
    ) -> None:
        self.server = server
        self.health = health
        self.address = address
        self.services = tuple(services)

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    async def start(self) -> None:
        await self.server.start()
        for service in ("", *self.services):
            await self.health.set(service, SERVING)
        _log.info("gRPC server serving", extra={"address": self.address, "services": self.services})

    async def set_serving(self, serving: bool) -> None:
        """Report every service SERVING or NOT_SERVING (readiness: a dependency is out)."""
        status = SERVING if serving else NOT_SERVING
        for service in ("", *self.services):
            await self.health.set(service, status)

    async def stop(self, grace: float | None) -> None:
        """Health turns NOT_SERVING for every service, then in-flight calls get `grace` seconds."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        _log.info("gRPC server stopped", extra={"address": self.address})


def _millis(seconds: float) -> int:
    return round(seconds * 1000)


def server_options(settings: StintSettings) -> list[tuple[str, int]]:
    """Channel arguments of the server: message size limit, keepalive, maximum connection age."""
    limit = settings.grpc_max_message_bytes
    options = [
        ("grpc.max_send_message_length", limit),
        ("grpc.max_receive_message_length", limit),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_time_ms", _millis(settings.grpc_keepalive_time_seconds)),
        ("grpc.keepalive_timeout_ms", _millis(settings.grpc_keepalive_timeout_seconds)),
    ]
    if settings.grpc_max_connection_age_seconds > 0:
        options += [
            ("grpc.max_connection_age_ms", _millis(settings.grpc_max_connection_age_seconds)),
            (
                "grpc.max_connection_age_grace_ms",
                _millis(settings.grpc_max_connection_age_grace_seconds),
            ),
        ]
    return options


async def build_server(
    settings: StintSettings,
    services: Sequence[ServiceBinding],
    *,
    address: str | None = None,
    verifier: TokenVerifier | None = None,
    idempotency: IdempotencyStore | None = None,
) -> StintServer:
    """A server for `services` on `address` (default settings.grpc_address), not yet started.

    Raises PolicyError when a policy does not cover exactly its service's methods. When some
    RPC is mutating and no store is given, the idempotency store is opened from settings.
    """
    methods: dict[str, MethodSpec] = {}
    for binding in services:
        methods.update(method_specs(binding))
    if idempotency is None and any(spec.rule.mutating for spec in methods.values()):
        idempotency = IdempotencyStore.from_settings(settings)
    if idempotency is not None:
        await asyncio.to_thread(idempotency.ensure_indexes)
    pipeline = CallPipeline(
        methods,
        verifier=verifier or TokenVerifier(settings),
        validator=RequestValidator(),
        idempotency=idempotency,
    )
    server = grpc.aio.server(interceptors=[pipeline], options=server_options(settings))
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = [binding.descriptor.full_name for binding in services]
    for binding in services:
        binding.add_to_server(binding.servicer, server)
    if settings.grpc_reflection:
        enable_reflection(
            server, [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        )
    bind = address or settings.grpc_address
    port = server.add_insecure_port(bind)
    for service in ("", *names):
        await health.set(service, NOT_SERVING)
    return StintServer(server, health, f"{bind.rsplit(':', 1)[0]}:{port}", names)
