"""Through the real server: malformed token headers are UNAUTHENTICATED, reflection answers
as v1 and v1alpha when on and not at all when turned off."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2
from stint_runtime.grpc.client import insecure_channel, new_idempotency_key
from stint_runtime.grpc.server import build_server
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import free_port

from tests.integration.grpc.conftest import Harness
from tests.support.grpc_listings import ListingsTestServicer, create_request, listings_binding

pytestmark = pytest.mark.integration

CLAIMS = {"sub": "u", "role": "admin", "exp": 4_102_444_800}


def _b64(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "HS256", "kid": 5}, "Key ID header parameter must be a string"),
        ({"alg": "HS256", "crit": []}, "Invalid 'crit' header"),
        ({"alg": "HS256", "crit": ["x-ext"]}, "Unsupported critical extension"),
        ([1, 2], "malformed bearer token"),
    ],
)
async def test_malformed_headers_are_unauthenticated_with_a_reason(
    harness: Harness, header: Any, reason: str
) -> None:
    token = f"{_b64(header)}.{_b64(CLAIMS)}.c2ln"
    metadata = (("authorization", f"Bearer {token}"), ("idempotency-key", new_idempotency_key()))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(create_request(), metadata=metadata)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in (refused.value.details() or "")
    assert harness.servicer.calls["CreateListing"] == 0


async def _list_services(channel: grpc.aio.Channel, version: str) -> list[str]:
    method = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for reply in method(one_request()):
        return [service.name for service in reply.list_services_response.service]
    raise AssertionError("reflection sent no reply")


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_as_v1_and_v1alpha(harness: Harness, version: str) -> None:
    services = await _list_services(harness.channel, version)
    assert {
        "stint.listings.v1.ListingsService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= set(services)


async def test_reflection_can_be_turned_off(grpc_settings: StintSettings) -> None:
    settings = grpc_settings.model_copy(update={"grpc_reflection": False})
    server = await build_server(
        settings, [listings_binding(ListingsTestServicer())], address=f"127.0.0.1:{free_port()}"
    )
    await server.start()
    try:
        async with insecure_channel(server.address) as channel:
            for version in ("v1", "v1alpha"):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await _list_services(channel, version)
                assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED, version
    finally:
        await server.stop(0)


def test_reflection_is_on_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert StintSettings().grpc_reflection is True
    monkeypatch.setenv("STINT_GRPC_REFLECTION", "false")
    assert StintSettings().grpc_reflection is False
