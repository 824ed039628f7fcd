"""Declarative request validation (protovalidate) turned into INVALID_ARGUMENT naming each field."""

from __future__ import annotations

import json
from typing import Any

import grpc
import protovalidate
from google.protobuf.message import Message

from stint_runtime.errors import DomainError


class InvalidRequestError(DomainError):
    """A request broke its message's validation rules; `violations` are (field path, message)."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        super().__init__(
            "; ".join(f"{path}: {text}" if path else text for path, text in violations)
        )
        self.violations = violations


def field_path(path: Any) -> str:
    """`content.deliverables[0].title` from a buf.validate.FieldPath."""
    parts: list[str] = []
    if path is None:
        return ""
    for element in path.elements:
        part = element.field_name
        subscript = element.subscript
        if subscript is not None:
            value = subscript.value
            part += f"[{json.dumps(value) if isinstance(value, str) else value}]"
        parts.append(part)
    return ".".join(parts)


class RequestValidator:
    """One protovalidate Validator (it caches compiled rules) for every request of a server."""

    def __init__(self) -> None:
        self._validator = protovalidate.Validator()

    def check(self, request: Message) -> None:
        """Raises InvalidRequestError listing every violation of `request`."""
        found = self._validator.collect_violations(request)
        if found:
            raise InvalidRequestError(
                [(field_path(v.proto.field), v.proto.message or v.proto.rule_id) for v in found]
            )
