"""CORS for the browser origins a deployment allows (gRPC-Web and HTTP/JSON alike)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from stint_runtime.grpc.correlation import (
    REQUEST_ID_HEADER,
    STATUS_DETAILS_HEADER,
    TRACE_ID_HEADER,
)

ALLOW_METHODS: Final = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS: Final = (
    "authorization, idempotency-key, content-type, x-grpc-web, x-user-agent, grpc-timeout, "
    "traceparent, tracestate, x-request-id"
)
EXPOSE_HEADERS: Final = ", ".join(
    (
        "grpc-status",
        "grpc-message",
        STATUS_DETAILS_HEADER,
        REQUEST_ID_HEADER,
        TRACE_ID_HEADER,
        "traceparent",
    )
)
MAX_AGE_SECONDS: Final = 86400


@dataclass(frozen=True)
class CorsPolicy:
    """Exact origins (scheme://host[:port]); "*" allows any."""

    origins: frozenset[str]

    @classmethod
    def of(cls, origins: Iterable[str]) -> CorsPolicy:
        return cls(frozenset(o.strip().rstrip("/") for o in origins if o.strip()))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.origins or origin in self.origins)

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for an actual (non-preflight) response; none for other origins."""
        if origin is None or not self.allows(origin):
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
            ("Vary", "Origin"),
        ]

    def preflight_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if origin is None or not self.allows(origin):
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ALLOW_METHODS),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
            ("Access-Control-Max-Age", str(MAX_AGE_SECONDS)),
            ("Vary", "Origin"),
        ]
