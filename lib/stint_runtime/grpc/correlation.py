"""Correlation ids every response carries, so a gateway can log them beside its own request.

Each call of a Stint RPC answers with `x-request-id` and `x-trace-id` in its initial metadata
(response headers) and again in its trailing metadata. An error's `grpc-status-details-bin`
(a google.rpc.Status) also holds a google.rpc.RequestInfo: `request_id` is the request id,
`serving_data` is `trace_id=<32 hex digits>`.

The request id is the caller's own `x-request-id` when it sends a usable one (1-128 visible
ASCII characters), otherwise a new random one; the trace id is the W3C trace id of the call's
server span (the caller's `traceparent` when it sends one, since the span continues it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry import trace

REQUEST_ID_HEADER: Final = "x-request-id"
TRACE_ID_HEADER: Final = "x-trace-id"
STATUS_DETAILS_HEADER: Final = "grpc-status-details-bin"
_USABLE_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_NO_TRACE = "0" * 32


@dataclass(frozen=True)
class Correlation:
    """The ids of one call."""

    request_id: str
    trace_id: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = [(REQUEST_ID_HEADER, self.request_id)]
        if self.trace_id:
            pairs.append((TRACE_ID_HEADER, self.trace_id))
        return tuple(pairs)

    def request_info(self) -> Any:
        """The google.rpc.RequestInfo an error's status details carry."""
        serving = f"trace_id={self.trace_id}" if self.trace_id else ""
        return error_details_pb2.RequestInfo(request_id=self.request_id, serving_data=serving)


def current_trace_id(invocation: Mapping[str, Any]) -> str:
    """The active span's trace id; else the caller's traceparent's; else ""."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        return format(context.trace_id, "032x")
    match = _TRACEPARENT.match(str(invocation.get("traceparent", "")))
    if match and match.group(1) != _NO_TRACE:
        return match.group(1)
    return ""


def correlate(invocation: Mapping[str, Any]) -> Correlation:
    """The ids of the call whose request metadata is `invocation`."""
    offered = invocation.get(REQUEST_ID_HEADER)
    if isinstance(offered, str) and _USABLE_REQUEST_ID.match(offered):
        request_id = offered
    else:
        request_id = uuid.uuid4().hex
    return Correlation(request_id=request_id, trace_id=current_trace_id(invocation))


def error_trailers(
    correlation: Correlation, code: int, message: str, details: Sequence[Any] = ()
) -> tuple[tuple[str, str | bytes], ...]:
    """An error's trailers: the ids and a google.rpc.Status (`details`, then RequestInfo)."""
    status = status_pb2.Status(code=code, message=message)
    for detail in (*details, correlation.request_info()):
        status.details.add().Pack(detail)
    return (*correlation.metadata, (STATUS_DETAILS_HEADER, status.SerializeToString()))
