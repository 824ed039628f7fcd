"""The edge's HTTP server in front of an in-process gRPC stub: what reaches the service as
metadata, and what the HTTP client gets back for answers and errors (no broker or database)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.edge import grpc_web
from stint_runtime.edge.config import EdgeConfig
from stint_runtime.edge.server import EdgeServer
from stint_runtime.stack.processes import free_port

ORIGIN = "https://app.example"


@dataclass
class Stub:
    """GetListing answers for id "L1", else NOT_FOUND; PublishListing fails validation."""

    seen: list[dict[str, str]] = field(default_factory=list)
    slow_entered: threading.Event = field(default_factory=threading.Event)
    slow_release: threading.Event = field(default_factory=threading.Event)

    def get_listing(
        self, request: service_pb2.GetListingRequest, context: grpc.ServicerContext
    ) -> service_pb2.GetListingResponse:
        self.seen.append({k: str(v) for k, v in context.invocation_metadata()})
        # As a Stint service does: the ids in the initial and again in the trailing metadata.
        ids = (("x-request-id", "req-1"), ("x-trace-id", "trace-1"))
        context.send_initial_metadata(ids)
        context.set_trailing_metadata(ids)
        if request.listing_id == "slow":
            self.slow_entered.set()
            self.slow_release.wait(10)
            return service_pb2.GetListingResponse(listing=resources_pb2.Listing(id="slow"))
        if request.listing_id != "L1":
            context.abort(grpc.StatusCode.NOT_FOUND, f"listing {request.listing_id} not found")
        return service_pb2.GetListingResponse(listing=resources_pb2.Listing(id="L1", version=4))

    def publish_listing(
        self, request: service_pb2.PublishListingRequest, context: grpc.ServicerContext
    ) -> service_pb2.PublishListingResponse:
        self.seen.append({k: str(v) for k, v in context.invocation_metadata()})
        detail = any_pb2.Any()
        violation = error_details_pb2.BadRequest.FieldViolation(
            field="expected_version", description="must be at least 1"
        )
        detail.Pack(error_details_pb2.BadRequest(field_violations=[violation]))
        status = status_pb2.Status(code=3, message="expected_version: must be at least 1")
        status.details.append(detail)
        context.abort_with_status(_RichStatus(status))
        raise AssertionError("unreachable")

    def handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        def unary(function: Any, request: Any, response: Any) -> grpc.RpcMethodHandler[Any, Any]:
            return grpc.unary_unary_rpc_method_handler(
                function,
                request_deserializer=request.FromString,
                response_serializer=response.SerializeToString,
            )

        return grpc.method_handlers_generic_handler(
            "stint.listings.v1.ListingsService",
            {
                "GetListing": unary(
                    self.get_listing,
                    service_pb2.GetListingRequest,
                    service_pb2.GetListingResponse,
                ),
                "PublishListing": unary(
                    self.publish_listing,
                    service_pb2.PublishListingRequest,
                    service_pb2.PublishListingResponse,
                ),
            },
        )


class _RichStatus(grpc.Status):
    def __init__(self, status: Any) -> None:
        self.code = grpc.StatusCode.INVALID_ARGUMENT
        self.details = status.message
        self.trailing_metadata = (("grpc-status-details-bin", status.SerializeToString()),)


@dataclass
class Edge:
    stub: Stub
    port: int
    server: EdgeServer | None = None  # None: the edge runs in another process

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            answer = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, answer
        finally:
            connection.close()

    def raw(self, request: bytes) -> bytes:
        """What the edge answers to `request` before it closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as connection:
            connection.sendall(request)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
            return answer

    def header_names(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> list[str]:
        """Every response header name as sent (lowercase), repeats included."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            response.read()
            return [k.lower() for k, _ in response.getheaders()]
        finally:
            connection.close()


@contextlib.contextmanager
def running_edge(**limits: Any) -> Iterator[Edge]:
    """An edge (with `limits` for EdgeServer) in front of a fresh stub."""
    stub = Stub()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((stub.handler(),))
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    config = EdgeConfig(
        "127.0.0.1",
        free_port(),
        {"listings": f"127.0.0.1:{grpc_port}", "payouts": f"127.0.0.1:{free_port()}"},
        (ORIGIN,),
        timeout_seconds=5,
    )
    http_server = EdgeServer(config, **limits)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Edge(stub, config.port, http_server)
    finally:
        stub.slow_release.set()
        http_server.stop(grace=1)
        server.stop(0)


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    with running_edge() as running:
        yield running


def test_authorization_and_idempotency_key_reach_the_service_as_metadata(edge: Edge) -> None:
    status, _, body = edge.request(
        "POST",
        "/v1/listings/L1:publish",
        b'{"expectedVersion": 0}',
        {
            "Authorization": "Bearer token-1",
            "Idempotency-Key": "key-1",
            "Cookie": "session=secret",
            "Content-Type": "application/json",
        },
    )
    seen = edge.stub.seen[-1]
    assert seen["authorization"] == "Bearer token-1"
    assert seen["idempotency-key"] == "key-1"
    assert "cookie" not in seen, "only the listed headers are forwarded"
    assert status == 400
    assert json.loads(body)["code"] == 3


def test_an_answer_is_json_with_the_service_s_metadata_as_headers(edge: Edge) -> None:
    status, headers, body = edge.request("GET", "/v1/listings/L1", headers={"Origin": ORIGIN})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req-1"
    assert headers["access-control-allow-origin"] == ORIGIN
    listing = json.loads(body)["listing"]
    assert (listing["id"], listing["version"]) == ("L1", "4")
    assert listing["seats"] == 0, "fields at their defaults are printed"


def test_errors_carry_the_http_status_and_the_services_status_with_details(edge: Edge) -> None:
    status, _, body = edge.request("GET", "/v1/listings/L2")
    assert status == 404
    assert json.loads(body) == {"code": 5, "message": "listing L2 not found", "details": []}
    status, _, body = edge.request(
        "POST", "/v1/listings/L1:publish", b'{"expectedVersion": 0}', {"Idempotency-Key": "k"}
    )
    error = json.loads(body)
    assert status == 400
    assert error["message"] == "expected_version: must be at least 1"
    (detail,) = error["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert detail["fieldViolations"][0]["field"] == "expected_version"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/nothing-here", b"", 404, 5),
        ("POST", "/v1/listings", b"{not json", 400, 3),
        ("GET", "/v1/listings?pageSize=lots", b"", 400, 3),
        ("GET", "/v1/payouts/P1", b"", 503, 14),  # nothing listens at payouts' address
    ],
)
def test_requests_that_never_reach_a_service_get_a_json_error(
    edge: Edge, method: str, path: str, body: bytes, status: int, code: int
) -> None:
    got, headers, answer = edge.request(method, path, body)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert json.loads(answer)["code"] == code


def test_grpc_web_binary_answers_with_the_message_and_the_trailer(edge: Edge) -> None:
    request = service_pb2.GetListingRequest(listing_id="L1").SerializeToString()
    status, headers, body = edge.request(
        "POST",
        "/stint.listings.v1.ListingsService/GetListing",
        grpc_web.frame(grpc_web.DATA, request),
        {"Content-Type": "application/grpc-web+proto", "Origin": ORIGIN},
    )
    assert status == 200
    assert headers["content-type"] == "application/grpc-web+proto"
    assert headers["access-control-allow-origin"] == ORIGIN
    length = int.from_bytes(body[1:5], "big")
    message = service_pb2.GetListingResponse.FromString(body[5 : 5 + length])
    assert message.listing.id == "L1"
    trailer = body[5 + length :]
    assert trailer[0] == grpc_web.TRAILERS
    assert trailer[5:].startswith(b"grpc-status:0\r\n")


def test_grpc_web_unknown_methods_and_bad_frames_fail_in_the_trailer(edge: Edge) -> None:
    status, _, body = edge.request(
        "POST",
        "/stint.listings.v1.ListingsService/Nope",
        grpc_web.frame(grpc_web.DATA, b""),
        {"Content-Type": "application/grpc-web-text"},
    )
    assert status == 200
    assert b"grpc-status:12\r\n" in base64.b64decode(body)
    status, _, body = edge.request(
        "POST",
        "/stint.listings.v1.ListingsService/GetListing",
        b"\x00\x00",
        {"Content-Type": "application/grpc-web"},
    )
    assert b"grpc-status:3\r\n" in body


def test_cors_preflight_only_for_configured_origins(edge: Edge) -> None:
    status, headers, _ = edge.request("OPTIONS", "/v1/listings", headers={"Origin": ORIGIN})
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    status, headers, _ = edge.request(
        "OPTIONS", "/v1/listings", headers={"Origin": "https://other.example"}
    )
    assert status == 403
    assert "access-control-allow-origin" not in headers


@pytest.mark.parametrize(
    ("method", "path"), [("OPTIONS", "/v1/listings"), ("GET", "/v1/listings/L1")]
)
def test_each_cors_header_is_sent_once(edge: Edge, method: str, path: str) -> None:
    names = edge.header_names(method, path, {"Origin": ORIGIN})
    assert names.count("access-control-allow-origin") == 1, names
    assert names.count("vary") == 1, names


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        (b"Content-Length: -1\r\n", b"400"),
        (b"Content-Length: abc\r\n", b"400"),
        (b"Content-Length: 2\r\nContent-Length: 3\r\n", b"400"),
        (b"Content-Length: 99999999999\r\n", b"413"),
        (b"Transfer-Encoding: chunked\r\n", b"411"),
    ],
)
def test_a_body_framed_otherwise_than_by_one_content_length_is_refused_and_the_connection_closed(
    edge: Edge, framing: bytes, status: bytes
) -> None:
    request = b"POST /v1/listings HTTP/1.1\r\nHost: edge\r\n" + framing + b"\r\n"
    chunked_body = b"2\r\n{}\r\n0\r\n\r\n"
    # The edge closes the connection after answering: reading to EOF returns, with one answer.
    answer = edge.raw(request + chunked_body + b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, "nothing after the bad request is served"
    assert b'"code": 3' in answer or b'"code": 8' in answer


def test_a_client_silent_mid_request_is_dropped_after_the_idle_timeout() -> None:
    with running_edge(idle_timeout=0.3) as edge:
        # The edge closes the connection (recv returns EOF) long before the client gives up.
        answer = edge.raw(b"GET /healthz HTTP/1.1\r\nHost: ed")
        assert answer == b""
        status, _, _ = edge.request("GET", "/healthz")
        assert status == 200


def test_a_body_that_stops_arriving_is_a_408_not_a_500() -> None:
    with running_edge(idle_timeout=0.3) as edge:
        answer = edge.raw(
            b"POST /v1/listings HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\n\r\n{}"
        )
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code": 4' in answer


def test_connections_over_the_cap_get_503_and_are_closed() -> None:
    with running_edge(max_connections=1) as edge:
        holder = socket.create_connection(("127.0.0.1", edge.port), timeout=10)
        try:
            holder.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
            assert holder.recv(65536).startswith(b"HTTP/1.1 200"), "the first is served"
            answer = edge.raw(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
            assert b'"code": 14' in answer
        finally:
            holder.close()
        deadline = time.monotonic() + 10
        status = 0
        while status != 200 and time.monotonic() < deadline:
            status, _, _ = edge.request("GET", "/healthz")
        assert status == 200, "the slot is free again once the first connection closes"


def test_stop_lets_a_call_in_flight_finish_then_closes() -> None:
    with running_edge() as edge:
        answers: list[tuple[int, bytes]] = []

        def slow_request() -> None:
            status, _, body = edge.request("GET", "/v1/listings/slow")
            answers.append((status, body))

        client = threading.Thread(target=slow_request)
        client.start()
        assert edge.stub.slow_entered.wait(10), "the call reached the service"
        assert edge.server is not None
        stopper = threading.Thread(target=edge.server.stop, kwargs={"grace": 10})
        stopper.start()
        assert edge.server.draining.wait(10), "stop waits for the call in flight"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", edge.port), timeout=2).close()
        edge.stub.slow_release.set()
        client.join(10)
        stopper.join(10)
        assert not stopper.is_alive()
        ((status, body),) = answers
        assert status == 200, body
        assert json.loads(body)["listing"]["id"] == "slow"


@pytest.mark.parametrize(
    ("headers", "body", "names"),
    [
        ({"Authorization": "Bearer caf\xe9"}, b"", "authorization"),
        ({"Idempotency-Key": "k\x01"}, b"", "idempotency-key"),
        ({}, b"[" * 100_000, "nested too deeply"),
    ],
)
def test_input_grpc_cannot_carry_is_a_bad_request_naming_it(
    edge: Edge, headers: dict[str, str], body: bytes, names: str
) -> None:
    raw_headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
    answer = edge.raw(
        b"POST /v1/listings/L1:publish HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n"
        + raw_headers
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), answer[:300]
    error = json.loads(payload)
    assert error["code"] == 3
    assert names in error["message"]


def test_an_unusable_request_id_is_dropped_not_refused(edge: Edge) -> None:
    answer = edge.raw(
        b"GET /v1/listings/L1 HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n"
        b"X-Request-Id: abc\x7fdef\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert "x-request-id" not in edge.stub.seen[-1]


def test_grpc_web_with_an_unusable_header_fails_in_the_trailer(edge: Edge) -> None:
    request = service_pb2.GetListingRequest(listing_id="L1").SerializeToString()
    frame = grpc_web.frame(grpc_web.DATA, request)
    answer = edge.raw(
        b"POST /stint.listings.v1.ListingsService/GetListing HTTP/1.1\r\nHost: edge\r\n"
        b"Connection: close\r\nContent-Type: application/grpc-web\r\n"
        b"Authorization: Bearer \xff\r\n" + f"Content-Length: {len(frame)}\r\n\r\n".encode() + frame
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b"grpc-status:3\r\n" in answer


def test_http_json_carries_each_correlation_id_once(edge: Edge) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=10)
    try:
        connection.request("GET", "/v1/listings/L1")
        response = connection.getresponse()
        response.read()
        headers = [(k.lower(), v) for k, v in response.getheaders()]
    finally:
        connection.close()
    assert [v for k, v in headers if k == "x-request-id"] == ["req-1"]
    assert [v for k, v in headers if k == "x-trace-id"] == ["trace-1"]


def grpc_web_trailers(body: bytes) -> dict[str, str]:
    """The trailer frame's lines of a gRPC-Web answer, as a dict."""
    position = 0
    while body[position] != grpc_web.TRAILERS:
        position += 5 + int.from_bytes(body[position + 1 : position + 5], "big")
    lines = body[position + 5 :].decode().split("\r\n")
    return dict(line.split(":", 1) for line in lines if line)


def test_grpc_web_answers_with_initial_metadata_as_headers_and_trailing_in_the_trailer(
    edge: Edge,
) -> None:
    request = service_pb2.GetListingRequest(listing_id="L1").SerializeToString()
    status, headers, body = edge.request(
        "POST",
        "/stint.listings.v1.ListingsService/GetListing",
        grpc_web.frame(grpc_web.DATA, request),
        {"Content-Type": "application/grpc-web+proto", "Origin": ORIGIN},
    )
    assert status == 200
    assert (headers["x-request-id"], headers["x-trace-id"]) == ("req-1", "trace-1")
    exposed = {name.strip() for name in headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "x-trace-id", "grpc-status-details-bin"} <= exposed
    trailers = grpc_web_trailers(body)
    assert (trailers["grpc-status"], trailers["x-trace-id"]) == ("0", "trace-1")


def test_grpc_web_errors_carry_the_status_details_in_the_trailer(edge: Edge) -> None:
    request = service_pb2.PublishListingRequest(listing_id="L1").SerializeToString()
    status, _, body = edge.request(
        "POST",
        "/stint.listings.v1.ListingsService/PublishListing",
        grpc_web.frame(grpc_web.DATA, request),
        {"Content-Type": "application/grpc-web+proto"},
    )
    assert status == 200
    trailers = grpc_web_trailers(body)
    assert trailers["grpc-status"] == "3"
    details = status_pb2.Status.FromString(base64.b64decode(trailers["grpc-status-details-bin"]))
    bad_request = error_details_pb2.BadRequest()
    assert details.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "expected_version"
