"""A started server with the ListingsService test servicer, its channel, stub and settings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from stint.listings.v1 import service_pb2_grpc
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.grpc.server import StintServer, build_server
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.processes import free_port

from tests.support.grpc_listings import ListingsTestServicer, listings_binding

MAX_MESSAGE_BYTES = 64 * 1024


@dataclass
class Harness:
    settings: StintSettings
    servicer: ListingsTestServicer
    server: StintServer
    channel: grpc.aio.Channel
    stub: service_pb2_grpc.ListingsServiceAsyncStub

    def token(self, role: Role, sub: str = "user-1", org: str | None = None) -> str:
        if role == "employer" and org is None:
            org = "org-1"
        return mint_token(self.settings, sub=sub, role=role, org=org)


@pytest.fixture
def grpc_settings(infra: Endpoints) -> StintSettings:
    return load_settings("listings").model_copy(
        update={
            "environment": "test",
            "mongodb_uri": infra.mongodb_uri,
            "mongodb_database": f"stint_grpc_test_{uuid.uuid4().hex[:12]}",
            "grpc_max_message_bytes": MAX_MESSAGE_BYTES,
        }
    )


@pytest.fixture
async def harness(grpc_settings: StintSettings) -> AsyncIterator[Harness]:
    servicer = ListingsTestServicer()
    server = await build_server(
        grpc_settings, [listings_binding(servicer)], address=f"127.0.0.1:{free_port()}"
    )
    await server.start()
    # The client may send more than the server accepts, to show the server refusing it.
    channel = insecure_channel(server.address, max_message_bytes=4 * MAX_MESSAGE_BYTES)
    try:
        yield Harness(
            grpc_settings, servicer, server, channel, service_pb2_grpc.ListingsServiceStub(channel)
        )
    finally:
        servicer.release.set()
        await channel.close(None)
        await server.stop(0)
