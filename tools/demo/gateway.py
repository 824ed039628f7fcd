"""Calling the four services as a frontend gateway does: a token per signed-in user, an
idempotency key per mutating call, and a W3C trace context per demo step."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from stint.applications.v1 import service_pb2_grpc as applications_grpc
from stint.listings.v1 import service_pb2_grpc as listings_grpc
from stint.notifications.v1 import service_pb2_grpc as notifications_grpc
from stint.payouts.v1 import service_pb2_grpc as payouts_grpc
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import call_metadata, insecure_channel, new_idempotency_key
from stint_runtime.settings import StintSettings

T = TypeVar("T")
READ_PREFIXES = ("Get", "List", "Search", "Verify")
CALL_TIMEOUT = 30.0
STUBS: Mapping[str, Callable[[grpc.aio.Channel], Any]] = {
    "listings": listings_grpc.ListingsServiceStub,
    "applications": applications_grpc.ApplicationsServiceStub,
    "payouts": payouts_grpc.PayoutsServiceStub,
    "notifications": notifications_grpc.NotificationsServiceStub,
}


@dataclass(frozen=True)
class User:
    """A signed-in user as the identity provider describes them (the token's claims)."""

    sub: str
    role: Role
    org: str | None = None


class StepFailed(RuntimeError):
    """Something the scenario needs did not happen."""


def new_trace_id() -> str:
    return secrets.token_hex(16)


class Gateway:
    """One channel per service; every call carries the caller's token and the step's trace."""

    def __init__(self, addresses: Mapping[str, str], settings: StintSettings) -> None:
        self._settings = settings
        self._channels = {name: insecure_channel(addresses[name]) for name in STUBS}
        self._stubs = {name: STUBS[name](channel) for name, channel in self._channels.items()}
        self.trace_id = new_trace_id()
        self.calls = 0

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)

    def new_trace(self) -> str:
        """Start a new trace: the following calls are its roots' children."""
        self.trace_id = new_trace_id()
        return self.trace_id

    def _metadata(self, user: User | None, method: str) -> tuple[tuple[str, str], ...]:
        token = None
        if user is not None:
            token = mint_token(self._settings, sub=user.sub, role=user.role, org=user.org)
        key = None if method.startswith(READ_PREFIXES) else new_idempotency_key()
        traceparent = f"00-{self.trace_id}-{secrets.token_hex(8)}-01"
        return (*call_metadata(token=token, idempotency_key=key), ("traceparent", traceparent))

    async def call(self, service: str, method: str, request: Message, user: User | None) -> Any:
        """One RPC; UNAVAILABLE (a service catching up) is retried with the same metadata."""
        metadata = self._metadata(user, method)
        rpc = getattr(self._stubs[service], method)
        for attempt in range(20):
            try:
                self.calls += 1
                return await rpc(request, metadata=metadata, timeout=CALL_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.UNAVAILABLE or attempt == 19:
                    raise
            await asyncio.sleep(0.25)
        raise AssertionError("unreachable")


async def until(
    attempt: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    limit: float = 30.0,
    retry_codes: frozenset[grpc.StatusCode] = frozenset(),
) -> T:
    """Poll `attempt` until it returns a value; the services are eventually consistent (events).

    gRPC errors with a code in `retry_codes` count as "not yet" (e.g. NOT_FOUND while the
    applications service has not consumed a just-published listing).
    """
    deadline = time.monotonic() + limit
    last = ""
    while True:
        try:
            result = await attempt()
        except grpc.aio.AioRpcError as error:
            if error.code() not in retry_codes:
                raise StepFailed(f"{what}: {error.code().name} {error.details()}") from None
            result, last = None, f"{error.code().name} {error.details()}"
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise StepFailed(f"{what}: not within {limit:.0f}s {last}".rstrip())
        await asyncio.sleep(0.2)
