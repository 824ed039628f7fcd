"""A local webhook receiver that verifies Standard Webhooks signatures as integrators would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    verified: bool
    status: int
    body: dict[str, Any]


@dataclass
class Receiver:
    """Answers each request with the next scripted status (then the last one, repeatedly)."""

    secret: str = ""
    script: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/stint?x=1"

    def answer(self, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            index = min(len(self.received), len(self.script) - 1)
            status = self.script[index] if verified else 401
            self.received.append(
                Received(headers.get("webhook-id", ""), verified, status, json.loads(body))
            )
            return status

    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.verified and 200 <= r.status < 300]


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(body, headers)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
