"""Calling the notifications service as gateways do, feeding it events through the real broker,
and reading back what it sent (SMTP sink mailbox, webhook receiver)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import Message
from stint.common.v1.events_pb2 import EventEnvelope
from stint.notifications.v1 import resources_pb2 as r
from stint.notifications.v1 import service_pb2, service_pb2_grpc
from stint_notifications.service_layer.delivery import Claim, Outcome
from stint_runtime.clock import Clock
from stint_runtime.grpc.auth import Role, mint_token
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.messaging.envelope import new_envelope, topic_of
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import StintSettings
from stint_runtime.stack.smtp_sink import received_messages

MUTATING = frozenset(
    {"RegisterContact", "SetPreferences", "SubscribeSkills", "RegisterWebhook", "MarkRead"}
)


@dataclass(frozen=True)
class Who:
    """A caller: the claims of the token it presents (no role: no token at all)."""

    subject: str
    role: Role | None
    org: str | None = None

    @property
    def email(self) -> str:
        return f"{self.subject}@example.org"


def new_student() -> Who:
    return Who(f"stu-{uuid.uuid4().hex[:10]}", "student")


def new_employer(org: str) -> Who:
    return Who(f"emp-{uuid.uuid4().hex[:10]}", "employer", org)


def new_admin() -> Who:
    return Who(f"adm-{uuid.uuid4().hex[:10]}", "admin")


def new_org() -> str:
    return f"org-{uuid.uuid4().hex[:10]}"


NOBODY = Who("", None)


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, limit: float, what: Callable[[], str]
) -> None:
    """Poll `condition` until true; fail naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {limit}s: {what()}")
        await asyncio.sleep(0.1)


@dataclass
class NotificationsClient:
    """Calls the service as anyone; mutating calls get a fresh idempotency key each."""

    stub: service_pb2_grpc.NotificationsServiceAsyncStub
    settings: StintSettings

    def metadata(self, who: Who, idempotency_key: str | None) -> tuple[tuple[str, str], ...]:
        token = None
        if who.role is not None:
            token = mint_token(self.settings, sub=who.subject, role=who.role, org=who.org)
        return call_metadata(token=token, idempotency_key=idempotency_key)

    async def call(self, method: str, request: Message, who: Who) -> Any:
        key = new_idempotency_key() if method in MUTATING else None
        rpc = getattr(self.stub, method)
        return await rpc(request, metadata=self.metadata(who, key), timeout=30)

    async def code_of(self, method: str, request: Message, who: Who) -> grpc.StatusCode:
        try:
            await self.call(method, request, who)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    async def register(self, who: Who, name: str = "") -> r.Contact:
        request = service_pb2.RegisterContactRequest(
            user_id=who.subject, email=who.email, display_name=name or who.subject
        )
        contact: r.Contact = (await self.call("RegisterContact", request, who)).contact
        return contact

    async def preferences(self, who: Who, **fields: Any) -> r.Preferences:
        request = service_pb2.SetPreferencesRequest(user_id=who.subject, **fields)
        prefs: r.Preferences = (await self.call("SetPreferences", request, who)).preferences
        return prefs

    async def inbox(self, who: Who, **fields: Any) -> service_pb2.ListNotificationsResponse:
        request = service_pb2.ListNotificationsRequest(user_id=who.subject, **fields)
        response: service_pb2.ListNotificationsResponse = await self.call(
            "ListNotifications", request, who
        )
        return response

    async def webhook(
        self, who: Who, owner: str, url: str, *types: str, secret: str = ""
    ) -> service_pb2.RegisterWebhookResponse:
        request = service_pb2.RegisterWebhookRequest(
            owner_id=owner, url=url, event_types=types, secret=secret
        )
        response: service_pb2.RegisterWebhookResponse = await self.call(
            "RegisterWebhook", request, who
        )
        return response


@dataclass
class Mailbox:
    """What the SMTP sink kept, read back from its maildir."""

    maildir: Path

    def to(self, address: str) -> list[EmailMessage]:
        found = []
        for raw in received_messages(self.maildir):
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if address in str(message.get("To", "")):
                found.append(message)
        return found

    async def wait_for(self, address: str, count: int, limit: float = 30.0) -> list[EmailMessage]:
        await eventually(
            lambda: _true(len(self.to(address)) >= count),
            limit=limit,
            what=lambda: f"{count} messages to {address}, got {len(self.to(address))}",
        )
        return self.to(address)


async def _true(value: bool) -> bool:
    return value


@dataclass
class EventFeed:
    """Publishes events as their producing services do: envelope on the event's topic."""

    publisher: KafkaPublisher
    clock: Clock
    sent: list[EventEnvelope] = field(default_factory=list)

    async def publish(self, event: Message, subject: str = "agg-1", source: str = "test") -> str:
        envelope = new_envelope(event, source=source, subject=subject, clock=self.clock)
        await self.republish(envelope)
        return envelope.id

    async def republish(self, envelope: EventEnvelope) -> None:
        """Send an envelope (again: a redelivery carries the same event id)."""
        await self.publisher.publish_envelope(topic_of(envelope.type), envelope)
        self.sent.append(envelope)


class FaultySender:
    """Wraps a real sender; emails to the users in `failing` fail (transiently) that many times."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.failing: dict[str, int] = {}
        self.attempts: dict[str, int] = {}

    async def send(self, claim: Claim) -> Outcome:
        self.attempts[claim.id] = self.attempts.get(claim.id, 0) + 1
        left = self.failing.get(claim.recipient_id, 0)
        if left:
            self.failing[claim.recipient_id] = left - 1
            return Outcome(False, "smtp 451")
        outcome: Outcome = await self.real.send(claim)
        return outcome
