"""Server reflection that teaches: descriptors with their source info (the proto comments).

The servers answer reflection from the descriptor set published with the contracts
(`stint/descriptor_set.binpb`, written by tools/protogen.py with `--include_imports
--include_source_info`), so `grpcurl describe` shows each service's, method's, message's and
field's comment. grpcio-reflection's own servicer rebuilds file descriptors from a pool, which
drops source info; this one returns the files exactly as compiled.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from functools import cache
from typing import Any, Final, TypeAlias

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

DESCRIPTOR_SET: Final = "descriptor_set.binpb"
CONTRACTS_PACKAGE: Final = "stint"
REFLECTION_SERVICES: Final = (
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
)

Request: TypeAlias = reflection_pb2.ServerReflectionRequest
Response: TypeAlias = reflection_pb2.ServerReflectionResponse


def published_descriptor_set() -> descriptor_pb2.FileDescriptorSet:
    """The contracts' descriptor set (with imports and source info) from the contracts package."""
    resource = importlib.resources.files(CONTRACTS_PACKAGE).joinpath(DESCRIPTOR_SET)
    return descriptor_pb2.FileDescriptorSet.FromString(resource.read_bytes())


@cache
def served_files() -> tuple[descriptor_pb2.FileDescriptorProto, ...]:
    """The contracts' files plus those of health and reflection, dependencies first.

    Comments are kept for Stint's own files only: google/protobuf's would multiply the size of
    every answer by five and teach nothing about Stint.
    """
    files = list(published_descriptor_set().file)
    for file in files:
        if not file.name.startswith(f"{CONTRACTS_PACKAGE}/"):
            file.ClearField("source_code_info")
    known = {file.name for file in files}
    for extra in (health_pb2.DESCRIPTOR, reflection_pb2.DESCRIPTOR):
        if extra.name not in known:
            files.append(descriptor_pb2.FileDescriptorProto.FromString(extra.serialized_pb))
    return tuple(files)


class SourceReflection:
    """An asyncio ServerReflection servicer over compiled files (v1 and v1alpha share the wire)."""

    def __init__(
        self,
        services: Iterable[str],
        files: Sequence[descriptor_pb2.FileDescriptorProto] | None = None,
    ) -> None:
        self.services = tuple(sorted({*services, *REFLECTION_SERVICES}))
        self.files = {file.name: file for file in (served_files() if files is None else files)}
        self.pool = descriptor_pool.DescriptorPool()
        for file in self.files.values():
            self.pool.Add(file)

    async def ServerReflectionInfo(  # noqa: N802 (the gRPC method's name)
        self, requests: AsyncIterable[Request], context: Any
    ) -> AsyncIterator[Response]:
        sent: set[str] = set()
        async for request in requests:
            yield self.answer(request, sent)

    def answer(self, request: Request, sent: set[str] | None = None) -> Response:
        """The reply to one request; files already in `sent` (this stream's) are not resent."""
        sent = set() if sent is None else sent
        try:
            kind = request.WhichOneof("message_request")
            if kind == "file_by_filename":
                return self._files(request, sent, request.file_by_filename)
            if kind == "file_containing_symbol":
                return self._files(request, sent, self._file_of(request.file_containing_symbol))
            if kind == "file_containing_extension":
                wanted = request.file_containing_extension
                message = self.pool.FindMessageTypeByName(wanted.containing_type)
                extension = self.pool.FindExtensionByNumber(message, wanted.extension_number)
                found = self.pool.FindFileContainingSymbol(extension.full_name)
                return self._files(request, sent, found.name)
            if kind == "all_extension_numbers_of_type":
                message = self.pool.FindMessageTypeByName(request.all_extension_numbers_of_type)
                numbers = sorted(e.number for e in self.pool.FindAllExtensions(message))
                return Response(
                    original_request=request,
                    all_extension_numbers_response=reflection_pb2.ExtensionNumberResponse(
                        base_type_name=message.full_name, extension_number=numbers
                    ),
                )
            if kind == "list_services":
                return Response(
                    original_request=request,
                    list_services_response=reflection_pb2.ListServiceResponse(
                        service=[reflection_pb2.ServiceResponse(name=n) for n in self.services]
                    ),
                )
        except KeyError:
            return _error(request, grpc.StatusCode.NOT_FOUND, "symbol not found")
        return _error(request, grpc.StatusCode.INVALID_ARGUMENT, "unknown reflection request")

    def _file_of(self, symbol: str) -> str:
        """The file declaring `symbol`; a method is found through its service (KeyError if none)."""
        try:
            return str(self.pool.FindFileContainingSymbol(symbol).name)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            found = self.pool.FindServiceByName(service)
            if method not in found.methods_by_name:
                raise
            return str(found.file.name)

    def _files(self, request: Request, sent: set[str], name: str) -> Response:
        """The file `name` first, then the files it imports, transitively, not sent before."""
        ordered = [name]
        pending = list(self.files[name].dependency)
        while pending:
            current = pending.pop()
            if current in ordered or current in sent:
                continue
            ordered.append(current)
            pending.extend(self.files[current].dependency)
        sent.update(ordered)
        return Response(
            original_request=request,
            file_descriptor_response=reflection_pb2.FileDescriptorResponse(
                file_descriptor_proto=[self.files[n].SerializeToString() for n in ordered]
            ),
        )


def _error(request: Request, code: grpc.StatusCode, message: str) -> Response:
    return Response(
        original_request=request,
        error_response=reflection_pb2.ErrorResponse(
            error_code=code.value[0], error_message=message
        ),
    )


def enable_reflection(server: grpc.aio.Server, services: Sequence[str]) -> None:
    """Serves grpc.reflection.v1 and v1alpha, listing `services` and themselves.

    grpcio-reflection (1.85) ships only v1alpha's messages; v1's are the same on the wire (only
    the proto package differs), so one servicer answers under both names.
    """
    servicer = SourceReflection(services)
    handlers = {
        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=Request.FromString,
            response_serializer=Response.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(name, handlers) for name in REFLECTION_SERVICES]
    )
