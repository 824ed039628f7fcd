"""gRPC status codes as HTTP statuses (the google.rpc.Code mapping) and the JSON error body."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from stint_runtime.grpc.correlation import STATUS_DETAILS_HEADER

# Registers google.rpc's detail types, so that json_format can render them inside Any.
DETAIL_TYPES: Final = error_details_pb2.DESCRIPTOR

# google/rpc/code.proto: the HTTP status each code maps to (Envoy's transcoder uses the same).
HTTP_STATUS: Final[dict[grpc.StatusCode, int]] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}

Metadata = Sequence[tuple[str, str | bytes]]


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)


def code_number(code: grpc.StatusCode) -> int:
    number: int = code.value[0]
    return number


def status_message(code: grpc.StatusCode, message: str, trailers: Metadata = ()) -> Any:
    """The call's google.rpc.Status: the server's own when it sent one, else code and message."""
    for key, value in trailers:
        if key == STATUS_DETAILS_HEADER and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except ValueError:
                break
    return status_pb2.Status(code=code_number(code), message=message)


def error_body(status: Any) -> bytes:
    """{code, message, details} as JSON; details of unknown types keep their raw bytes."""
    details = []
    for detail in status.details:
        try:
            details.append(json_format.MessageToDict(detail))
        except (TypeError, json_format.Error):
            details.append({"@type": detail.type_url, "value": detail.value.hex()})
    body = {"code": status.code, "message": status.message, "details": details}
    return json.dumps(body).encode()
