"""The edge's HTTP server: HTTP/JSON routes from google.api.http, gRPC-Web on gRPC paths."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast
from urllib.parse import parse_qs

import grpc

from stint_runtime.edge import grpc_web
from stint_runtime.edge.config import EdgeConfig
from stint_runtime.edge.cors import CorsPolicy
from stint_runtime.edge.routes import Route, find_route, load_routes, methods_by_path
from stint_runtime.edge.status import (
    Metadata,
    code_number,
    error_body,
    http_status,
    status_message,
)
from stint_runtime.edge.transcode import BadRequest, build_request, response_body

# HTTP request headers passed on as gRPC metadata (lowercase, as gRPC requires).
FORWARDED_HEADERS: Final = (
    "authorization",
    "idempotency-key",
    "traceparent",
    "tracestate",
    "x-request-id",
)
# Headers whose unusable value is dropped (the service then makes its own) instead of refused.
DROPPED_WHEN_INVALID: Final = frozenset({"x-request-id"})
# What an ASCII gRPC metadata value may hold (printable ASCII, as HTTP/2 grpc requires).
METADATA_VALUE: Final = re.compile(r"[\x20-\x7e]*")
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
# A client silent this long mid-request (or idle on a kept-alive connection) is dropped.
IDLE_TIMEOUT_SECONDS: Final = 30.0
# Connections served at once (one thread each); more are answered 503 and closed.
MAX_CONNECTIONS: Final = 64
# On stop, requests in flight get this long to finish before their connections are cut
# (under ManagedProcess.stop's 10 s between SIGTERM and SIGKILL).
STOP_GRACE_SECONDS: Final = 5.0
HEALTH_PATH: Final = "/healthz"
JSON: Final = "application/json"

BUSY: Final = "the edge is serving as many connections as it may; retry shortly"
LENGTH_REQUIRED: Final = "send the body with a Content-Length (Transfer-Encoding is not supported)"

_log = logging.getLogger("stint_runtime.edge")


def body_length(values: Sequence[str]) -> int:
    """The one Content-Length (0 without one); ValueError unless a non-negative integer."""
    if len(set(values)) > 1:
        raise ValueError("conflicting Content-Length headers")
    if not values:
        return 0
    text = values[0].strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"Content-Length must be a non-negative integer, not {text[:20]!r}")
    return int(text)


class Upstreams:
    """One gRPC channel per service; calls carry serialized messages both ways."""

    def __init__(self, addresses: dict[str, str], timeout: float) -> None:
        self.channels = {
            name: grpc.insecure_channel(address) for name, address in addresses.items()
        }
        self.timeout = timeout

    def call(
        self, service: str, path: str, request: bytes, metadata: Sequence[tuple[str, str | bytes]]
    ) -> tuple[bytes, Metadata, Metadata]:
        """The response, initial and trailing metadata; grpc.RpcError on a non-OK status."""
        rpc = self.channels[service].unary_unary(path, None, None)
        response, call = rpc.with_call(request, metadata=tuple(metadata), timeout=self.timeout)
        return cast(bytes, response), call.initial_metadata(), call.trailing_metadata()

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()


class EdgeServer(ThreadingHTTPServer):
    """Stop with stop() from another thread than serve_forever's: it drains before closing."""

    # stop() waits for handlers itself, with a bound; daemon threads cannot hold the exit.
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        config: EdgeConfig,
        *,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.config = config
        self.routes: list[Route] = load_routes(tuple(config.upstreams))
        self.grpc_methods = methods_by_path(tuple(config.upstreams))
        self.cors = CorsPolicy.of(config.cors_origins)
        self.upstreams = Upstreams(config.upstreams, config.timeout_seconds)
        self.idle_timeout = idle_timeout
        self.connections = threading.BoundedSemaphore(max_connections)
        # Each open connection -> whether a request on it is being served.
        self.open: dict[socket.socket, bool] = {}
        self.changed = threading.Condition()
        self.stopping = False
        self.draining = threading.Event()
        self.serving = False
        super().__init__((config.host, config.port), EdgeHandler)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self.serving = True
        super().serve_forever(poll_interval)

    def mark(self, connection: socket.socket, busy: bool) -> None:
        with self.changed:
            if connection in self.open:
                self.open[connection] = busy
            self.changed.notify_all()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop accepting, let requests in flight finish (at most `grace` s), then close."""
        with self.changed:
            self.stopping = True
        if self.serving:
            self.shutdown()
        self.socket.close()
        deadline = time.monotonic() + grace
        with self.changed:
            for connection, busy in self.open.items():
                if not busy:
                    close_reading(connection)
            self.draining.set()
            while self.open and self.changed.wait(max(0.0, deadline - time.monotonic())):
                pass
            for connection in self.open:
                close_reading(connection, socket.SHUT_RDWR)
        self.server_close()

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection while fewer than the cap are served, else 503."""
        if not self.connections.acquire(blocking=False):
            refuse_busy(request)
            self.shutdown_request(request)
            return
        # Registered here, in serve_forever's thread: once shutdown() returns, stop() sees them all.
        with self.changed:
            self.open[request] = False
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self.changed:
                self.open.pop(request, None)
            self.connections.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.changed:
                self.open.pop(request, None)
                self.changed.notify_all()
            self.connections.release()

    def server_close(self) -> None:
        super().server_close()
        self.upstreams.close()


def close_reading(connection: socket.socket, how: int = socket.SHUT_RD) -> None:
    """Ends the handler's wait for a next request (its reply, if any, still goes out)."""
    with contextlib.suppress(OSError):
        connection.shutdown(how)


def refuse_busy(connection: socket.socket) -> None:
    """A 503 straight onto a connection no handler thread will serve."""
    body = json.dumps(
        {"code": code_number(grpc.StatusCode.UNAVAILABLE), "message": BUSY, "details": []}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {JSON}\r\nContent-Length: {len(body)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    )
    try:
        connection.settimeout(1.0)
        connection.sendall(head.encode() + body)
    except OSError:
        pass


def response_headers(metadata: Metadata) -> list[tuple[str, str]]:
    """The server's text metadata (request and trace ids, ...) as HTTP headers, each pair once.

    A Stint service sends its ids in both initial and trailing metadata: one HTTP/JSON
    response carries both, which would otherwise repeat them ("id, id").
    """
    headers: list[tuple[str, str]] = []
    for key, value in metadata:
        if (
            isinstance(value, str)
            and not key.startswith("grpc-")
            and key != "content-type"
            and (key, value) not in headers
        ):
            headers.append((key, value))
    return headers


def web_trailers(metadata: Metadata) -> list[tuple[str, str]]:
    """Trailing metadata for a gRPC-Web trailer frame: text as is, `-bin` values in base64."""
    trailers = []
    for key, value in metadata:
        if isinstance(value, bytes):
            if key.endswith("-bin"):
                trailers.append((key, base64.b64encode(value).decode("ascii")))
        elif not key.startswith("grpc-") and key != "content-type":
            trailers.append((key, value))
    return trailers


def rpc_failure(error: grpc.RpcError) -> tuple[grpc.StatusCode, str, Metadata, Metadata]:
    """Code, details, initial and trailing metadata of a failed call."""
    call = cast(grpc.Call, error)
    initial = tuple(call.initial_metadata() or ())
    return call.code(), call.details() or "", initial, tuple(call.trailing_metadata() or ())


class EdgeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY the client's delayed ACK
    # holds every response back by ~40 ms.
    disable_nagle_algorithm = True
    server: EdgeServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)

    def handle_one_request(self) -> None:
        """One request, marked busy once its request line has arrived."""
        try:
            super().handle_one_request()
        finally:
            self.server.mark(self.connection, False)

    def parse_request(self) -> bool:
        self.server.mark(self.connection, True)
        return super().parse_request()

    def do_OPTIONS(self) -> None:
        cors = self.server.cors.preflight_headers(self.headers.get("Origin"))
        self.send(204 if cors else 403, b"", [], content_type=None, cors=cors)

    def do_GET(self) -> None:
        self.dispatch()

    def do_POST(self) -> None:
        self.dispatch()

    def do_PUT(self) -> None:
        self.dispatch()

    def do_PATCH(self) -> None:
        self.dispatch()

    def do_DELETE(self) -> None:
        self.dispatch()

    def dispatch(self) -> None:
        started = time.monotonic()
        path, _, query = self.path.partition("?")
        try:
            status = self.serve(path, query)
        except Exception:
            _log.exception("edge: %s %s failed", self.command, path)
            self.close_connection = True
            status = self.fail(500, grpc.StatusCode.INTERNAL, "the edge failed; see its log")
        _log.info(
            "%s %s -> %d",
            self.command,
            path,
            status,
            extra={"duration_ms": round((time.monotonic() - started) * 1000, 1)},
        )

    def serve(self, path: str, query: str) -> int:
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            return self.fail(411, grpc.StatusCode.INVALID_ARGUMENT, LENGTH_REQUIRED)
        try:
            length = body_length(self.headers.get_all("Content-Length") or [])
        except ValueError as bad:
            self.close_connection = True
            return self.fail(400, grpc.StatusCode.INVALID_ARGUMENT, str(bad))
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return self.fail(413, grpc.StatusCode.RESOURCE_EXHAUSTED, "the body is too large")
        try:
            body = self.rfile.read(length) if length else b""
        except TimeoutError:
            self.close_connection = True
            return self.fail(408, grpc.StatusCode.DEADLINE_EXCEEDED, "the body came too slowly")
        if len(body) != length:
            self.close_connection = True
            return self.fail(400, grpc.StatusCode.INVALID_ARGUMENT, "the body ended early")
        content_type = self.headers.get("Content-Type", "")
        if self.command == "POST" and grpc_web.is_grpc_web(content_type):
            return self.grpc_web(path, body, grpc_web.is_text(content_type), content_type)
        if path == HEALTH_PATH and self.command == "GET":
            return self.send(200, b'{"status": "SERVING"}', [])
        return self.transcode(path, query, body)

    def metadata(self) -> list[tuple[str, str | bytes]]:
        """The forwarded headers; BadRequest for a value gRPC metadata cannot carry."""
        forwarded: list[tuple[str, str | bytes]] = []
        for name in FORWARDED_HEADERS:
            value = self.headers.get(name)
            if value is None:
                continue
            if not METADATA_VALUE.fullmatch(value):
                if name in DROPPED_WHEN_INVALID:
                    continue
                raise BadRequest(
                    f"the {name} header must be printable ASCII (no control characters)"
                )
            forwarded.append((name, value))
        return forwarded

    def transcode(self, path: str, query: str, body: bytes) -> int:
        try:
            route, variables = find_route(self.server.routes, self.command, path)
        except LookupError as missing:
            return self.fail(404, grpc.StatusCode.NOT_FOUND, str(missing))
        try:
            parameters = parse_qs(query, keep_blank_values=True, strict_parsing=False)
            request = build_request(route, variables, parameters, body)
            forwarded = self.metadata()
        except BadRequest as bad:
            return self.fail(400, grpc.StatusCode.INVALID_ARGUMENT, str(bad))
        try:
            response, initial, trailing = self.server.upstreams.call(
                route.service, route.grpc_path, request.SerializeToString(), forwarded
            )
        except grpc.RpcError as error:
            code, details, initial, trailing = rpc_failure(error)
            status = status_message(code, details, trailing)
            headers = response_headers([*initial, *trailing])
            return self.send(http_status(code), error_body(status), headers)
        message = route.response_class().FromString(response)
        return self.send(200, response_body(message), response_headers([*initial, *trailing]))

    def grpc_web(self, path: str, body: bytes, text: bool, content_type: str) -> int:
        service = self.server.grpc_methods.get(path)
        code, details, message = grpc.StatusCode.OK, "", None
        initial: Metadata = ()
        trailing: Metadata = ()
        if service is None:
            code, details = grpc.StatusCode.UNIMPLEMENTED, f"unknown method {path}"
        else:
            try:
                request = grpc_web.decode_request(body, text)
                message, initial, trailing = self.server.upstreams.call(
                    service, path, request, self.metadata()
                )
            except (grpc_web.FramingError, BadRequest) as bad:
                code, details = grpc.StatusCode.INVALID_ARGUMENT, str(bad)
            except grpc.RpcError as error:
                code, details, initial, trailing = rpc_failure(error)
        trailers = web_trailers(trailing)
        payload = grpc_web.encode_response(message, code_number(code), details, trailers, text)
        return self.send(200, payload, response_headers(initial), content_type=content_type)

    def fail(self, status: int, code: grpc.StatusCode, message: str) -> int:
        body = {"code": code_number(code), "message": message, "details": []}
        return self.send(status, json.dumps(body).encode(), [])

    def send(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]],
        content_type: str | None = JSON,
        cors: list[tuple[str, str]] | None = None,
    ) -> int:
        """One response; `cors` replaces the actual-response CORS headers (a preflight's)."""
        if cors is None:
            cors = self.server.cors.response_headers(self.headers.get("Origin"))
        self.send_response(status)
        if self.server.stopping:
            self.close_connection = True
            self.send_header("Connection", "close")
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in [*headers, *cors]:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        return status

    def log_message(self, format: str, *args: object) -> None:
        """Silences http.server's own access log: dispatch logs each request once."""
