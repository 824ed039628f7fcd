"""Webhook deliveries: Standard Webhooks signatures, POSTs pinned to a checked address."""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import socket
import ssl
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook as Signer
from stint_runtime.errors import InvalidArgument

from stint_notifications.domain.webhooks import IPAddress, TargetPolicy, url_host
from stint_notifications.service_layer.delivery import Claim, Outcome

USER_AGENT = "Stint-Webhooks/1"


def resolve(host: str) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def signed_headers(secret: str, message_id: str, payload: str) -> dict[str, str]:
    """The Standard Webhooks headers; the timestamp is wall-clock time, as receivers check."""
    moment = datetime.fromtimestamp(int(time.time()), tz=UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, moment, payload),
        "content-type": "application/cloudevents+json",
        "user-agent": USER_AGENT,
    }


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address, verifying the certificate against the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class HttpWebhookSender:
    """POSTs the CloudEvents JSON; 2xx is delivered, anything else is retried on the schedule."""

    def __init__(self, targets: TargetPolicy, timeout: float = 10.0) -> None:
        self.targets = targets
        self.timeout = timeout

    async def send(self, claim: Claim) -> Outcome:
        return await asyncio.to_thread(self._post, claim)

    def _post(self, claim: Claim) -> Outcome:
        scheme, host, port = url_host(claim.url)
        addresses = resolve(host)
        try:
            self.targets.check(addresses)
        except InvalidArgument as exc:
            return Outcome(False, f"refused target: {exc.message.split(': ', 1)[-1]}", True)
        address = str(addresses[0])
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = _PinnedHTTPS(host, address, port, self.timeout)
        else:
            connection = http.client.HTTPConnection(address, port, timeout=self.timeout)
        parts = urlsplit(claim.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = signed_headers(claim.secret, claim.id, claim.payload)
        headers["host"] = host if port in (80, 443) else f"{host}:{port}"
        try:
            connection.request("POST", path, body=claim.payload.encode(), headers=headers)
            response = connection.getresponse()
            response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(False, f"http {type(exc).__name__}")
        finally:
            connection.close()
        if 200 <= response.status < 300:
            return Outcome(True)
        return Outcome(False, f"http {response.status}")
