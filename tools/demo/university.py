"""A university's webhook endpoint on loopback: verifies each delivery with the Standard
Webhooks library, as an integrator would, and keeps the verified events."""

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
class University:
    """Receives POSTs; 204 for a verified delivery, 401 otherwise."""

    secret: str = ""
    verified: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stint/webhooks"

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            if not self.secret:
                self.refused += 1
                return 503  # not registered yet: Stint retries
            try:
                Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                self.refused += 1
                return 401
            self.verified.append(json.loads(body))
            return 204

    def events(self, event_type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self.verified if e.get("type") == event_type]


@contextmanager
def serving(university: University) -> Iterator[University]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_response(university.receive(body, headers))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    university.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="university", daemon=True)
    thread.start()
    try:
        yield university
    finally:
        server.shutdown()
        server.server_close()
