"""Reflection teaches: grpcurl (and any reflection client, v1 or v1alpha) sees the proto comments,
served from the descriptor set published with the contracts."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.grpc.reflection import published_descriptor_set
from stint_runtime.grpc.server import StintServer, build_server
from stint_runtime.settings import StintSettings
from stint_runtime.stack.processes import free_port

from tests.support.grpc_listings import ListingsTestServicer, listings_binding

pytestmark = pytest.mark.integration

GRPCURL = shutil.which("grpcurl", path=str(Path(sys.executable).parent)) or "grpcurl"
METHOD = "stint.listings.v1.ListingsService.CreateListing"
METHOD_COMMENT = "Creates a DRAFT listing"
FIELD_COMMENT = "The ListingContent fields taken from `content`"


@pytest.fixture
async def server(grpc_settings: StintSettings) -> AsyncIterator[StintServer]:
    """A server with the default message size limit (the shared harness lowers it)."""
    settings = grpc_settings.model_copy(update={"grpc_max_message_bytes": 4 * 1024 * 1024})
    started = await build_server(
        settings, [listings_binding(ListingsTestServicer())], address=f"127.0.0.1:{free_port()}"
    )
    await started.start()
    try:
        yield started
    finally:
        await started.stop(0)


@pytest.fixture
async def channel(server: StintServer) -> AsyncIterator[grpc.aio.Channel]:
    async with insecure_channel(server.address) as opened:
        yield opened


async def grpcurl(*args: str) -> str:
    """Runs grpcurl without blocking the loop the server runs on; its stdout."""
    process = await asyncio.create_subprocess_exec(
        GRPCURL, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def test_the_descriptor_set_is_published_with_source_info() -> None:
    files = {file.name: file for file in published_descriptor_set().file}
    assert "stint/listings/v1/service.proto" in files
    assert "google/protobuf/timestamp.proto" in files, "imports are included"
    comments = [
        location.leading_comments
        for location in files["stint/listings/v1/service.proto"].source_code_info.location
    ]
    assert any(METHOD_COMMENT in comment for comment in comments)


async def test_grpcurl_describe_shows_the_method_comment(server: StintServer) -> None:
    described = await grpcurl("-plaintext", server.address, "describe", METHOD)
    assert METHOD_COMMENT in described
    assert "rpc CreateListing ( .stint.listings.v1.CreateListingRequest )" in described


async def test_grpcurl_describe_shows_field_comments(server: StintServer) -> None:
    described = await grpcurl(
        "-plaintext", server.address, "describe", "stint.listings.v1.UpdateListingRequest"
    )
    assert FIELD_COMMENT in described


async def _file_containing(channel: grpc.aio.Channel, version: str, symbol: str) -> list[bytes]:
    method = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)

    async for reply in method(one_request()):
        return list(reply.file_descriptor_response.file_descriptor_proto)
    raise AssertionError("reflection sent no reply")


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_both_reflection_versions_serve_comments(
    channel: grpc.aio.Channel, version: str
) -> None:
    serialized = await _file_containing(channel, version, METHOD)
    files = [descriptor_pb2.FileDescriptorProto.FromString(data) for data in serialized]
    assert files[0].name == "stint/listings/v1/service.proto", "the file asked for comes first"
    assert {"stint/listings/v1/resources.proto", "buf/validate/validate.proto"} <= {
        file.name for file in files
    }, "with its imports"
    comments = " ".join(loc.leading_comments for loc in files[0].source_code_info.location)
    assert METHOD_COMMENT in comments


async def test_an_unknown_symbol_is_not_found(channel: grpc.aio.Channel) -> None:
    method = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )

    async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(file_containing_symbol="no.such.Thing")

    async for reply in method(one_request()):
        assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
        return
    raise AssertionError("reflection sent no reply")


async def test_grpcurl_describes_health_too(server: StintServer) -> None:
    described = await grpcurl("-plaintext", server.address, "describe", "grpc.health.v1.Health")
    assert "rpc Check" in described


def readme_grpcurl_commands() -> list[list[str]]:
    """The grpcurl commands README's "For gateway developers" prints (against listings)."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## For gateway developers", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.split() for line in section.splitlines() if line.startswith(".venv/bin/grpcurl ")
    ]
    assert commands, "README shows no grpcurl example"
    return commands


async def test_the_readme_grpcurl_examples_work_as_printed(server: StintServer) -> None:
    for command in readme_grpcurl_commands():
        assert "127.0.0.1:50051" in command, "the examples address make run's listings"
        args = [server.address if word == "127.0.0.1:50051" else word for word in command[1:]]
        described = await grpcurl(*args)
        assert "//" in described, f"no comment shown by {' '.join(command)}"
