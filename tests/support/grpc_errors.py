"""Reading the structured details of a gRPC error, as a gateway would."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]


def violated_fields(error: grpc.aio.AioRpcError) -> set[str]:
    """The field paths of the google.rpc.BadRequest in an INVALID_ARGUMENT's trailers."""
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            fields: set[str] = set()
            for detail in status.details:
                bad_request = error_details_pb2.BadRequest()
                if detail.Unpack(bad_request):
                    fields |= {v.field for v in bad_request.field_violations}
            return fields
    return set()
