"""Domain errors and the gRPC status each one maps to (never UNKNOWN or INTERNAL for bad input)."""

from __future__ import annotations

import grpc


class DomainError(Exception):
    """A refusal the caller can understand; carries its gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request is malformed; `field` names the offending field path."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The command is not allowed in the aggregate's current state."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class ConcurrencyConflict(DomainError):
    """Another command changed the aggregate first (version check lost); retrying may succeed."""

    code = grpc.StatusCode.ABORTED


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED
