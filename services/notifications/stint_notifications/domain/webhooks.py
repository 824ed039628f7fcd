"""Integrators' webhook endpoints: secrets, which targets are refused (SSRF), retries, disabling."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from stint_runtime.errors import InvalidArgument

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SECRET_BYTES = 32
# Standard Webhooks' suggested schedule: after the first attempt, these delays between retries.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Webhook:
    id: str
    owner_id: str
    url: str
    event_types: frozenset[str]
    secret: str
    active: bool
    create_time: datetime
    failing_since: datetime | None = None
    disabled_reason: str = ""

    def wants(self, event_type: str) -> bool:
        return self.active and (not self.event_types or event_type in self.event_types)

    def __repr__(self) -> str:
        return f"Webhook(id={self.id!r}, owner_id={self.owner_id!r}, active={self.active})"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def checked_secret(secret: str) -> str:
    """A caller's secret must be a Standard Webhooks one: whsec_ + base64 of 24..64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidArgument("secret", "must start with whsec_ (a Standard Webhooks secret)")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        raise InvalidArgument("secret", "must be whsec_ followed by base64") from None
    if not 24 <= len(raw) <= 64:
        raise InvalidArgument("secret", "must encode 24 to 64 random bytes")
    return secret


@dataclass(frozen=True)
class TargetPolicy:
    """Which network ranges a webhook may target; public addresses always may."""

    allow_loopback: bool = True
    allow_private: bool = False

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be targeted, or None."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return self.refusal(address.ipv4_mapped)
        if address.is_loopback:
            return None if self.allow_loopback else "loopback"
        if address.is_link_local:
            return None if self.allow_private else "link-local"
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            return "not a unicast address"
        if address.is_private or not address.is_global:
            return None if self.allow_private else "private"
        return None

    def check(self, addresses: Iterable[IPAddress]) -> None:
        """Refuses (InvalidArgument on url) unless every resolved address may be targeted."""
        resolved = list(addresses)
        if not resolved:
            raise InvalidArgument("url", "host does not resolve")
        for address in resolved:
            reason = self.refusal(address)
            if reason is not None:
                raise InvalidArgument("url", f"targets a {reason} address, which is not allowed")


def url_host(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a webhook URL; only http and https."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument("url", "must be an http or https URL with a host")
    if parts.username or parts.password:
        raise InvalidArgument("url", "must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidArgument("url", "has an invalid port") from None
    return parts.scheme, parts.hostname, port


def next_retry(attempt: int, schedule: Sequence[timedelta] = RETRY_SCHEDULE) -> timedelta | None:
    """The wait after failed attempt number `attempt` (1-based), None when retries are spent."""
    return schedule[attempt - 1] if attempt <= len(schedule) else None


def should_disable(failing_since: datetime | None, now: datetime, after: timedelta) -> bool:
    return failing_since is not None and now - failing_since >= after
