"""Server keepalive and maximum connection age: long-lived client connections are closed after
the age limit, so clients reconnect and reach pods the autoscaler added."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stint_runtime.grpc.server import build_server, server_options
from stint_runtime.settings import StintSettings

IDLE = grpc.ChannelConnectivity.IDLE
READY = grpc.ChannelConnectivity.READY


def test_the_options_carry_the_settings() -> None:
    settings = StintSettings(
        grpc_keepalive_time_seconds=30,
        grpc_keepalive_timeout_seconds=5,
        grpc_max_connection_age_seconds=120,
        grpc_max_connection_age_grace_seconds=15,
    )
    options = dict(server_options(settings))
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.keepalive_timeout_ms"] == 5_000
    assert options["grpc.max_connection_age_ms"] == 120_000
    assert options["grpc.max_connection_age_grace_ms"] == 15_000
    assert options["grpc.max_receive_message_length"] == settings.grpc_max_message_bytes


def test_age_zero_means_no_limit() -> None:
    options = dict(server_options(StintSettings(grpc_max_connection_age_seconds=0)))
    assert "grpc.max_connection_age_ms" not in options
    assert "grpc.max_connection_age_grace_ms" not in options


def test_the_defaults_limit_the_connection_age() -> None:
    options = dict(server_options(StintSettings()))
    assert 0 < options["grpc.max_connection_age_ms"] <= 600_000


async def test_a_connection_older_than_the_limit_is_closed_and_the_client_reconnects() -> None:
    settings = StintSettings(
        grpc_host="127.0.0.1",
        grpc_max_connection_age_seconds=1,
        grpc_max_connection_age_grace_seconds=1,
    )
    server = await build_server(settings, [], address="127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert channel.get_state() == READY
            # The server sends GOAWAY once the connection is a second old: the channel leaves
            # READY without any call failing.
            await asyncio.wait_for(channel.wait_for_state_change(READY), timeout=15)
            assert channel.get_state() != READY
            response = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await server.stop(0)
