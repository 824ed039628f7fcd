"""The development edge's pieces without a network: routes from the annotations, requests from
HTTP parts, the status mapping, gRPC-Web framing, CORS and settings."""

from __future__ import annotations

import base64
import json

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.edge import grpc_web
from stint_runtime.edge.config import ConfigError, from_env
from stint_runtime.edge.cors import CorsPolicy
from stint_runtime.edge.routes import compile_template, find_route, load_routes
from stint_runtime.edge.status import HTTP_STATUS, error_body, status_message
from stint_runtime.edge.transcode import BadRequest, build_request, response_body

ROUTES = load_routes()


@pytest.mark.parametrize(
    ("verb", "path", "method", "variables"),
    [
        ("GET", "/v1/listings", "SearchListings", {}),
        ("POST", "/v1/listings", "CreateListing", {}),
        ("GET", "/v1/listings/L1", "GetListing", {"listing_id": "L1"}),
        ("PATCH", "/v1/listings/L1", "UpdateListing", {"listing_id": "L1"}),
        ("POST", "/v1/listings/L1:publish", "PublishListing", {"listing_id": "L1"}),
        ("POST", "/v1/listings/L1/applications", "Apply", {"listing_id": "L1"}),
        ("GET", "/v1/engagements/E1/messages", "ListMessages", {"engagement_id": "E1"}),
        ("GET", "/v1/applications/A1/messages", "ListMessages", {"application_id": "A1"}),
        ("GET", "/v1/completionRecords/R1", "GetCompletionRecord", {"record_id": "R1"}),
        ("POST", "/v1/users/U1/notifications:markRead", "MarkRead", {"user_id": "U1"}),
    ],
)
def test_paths_find_their_rpc_and_variables(
    verb: str, path: str, method: str, variables: dict[str, str]
) -> None:
    route, found = find_route(ROUTES, verb, path)
    assert route.method.name == method
    assert found == variables


@pytest.mark.parametrize(
    ("verb", "path"),
    [("GET", "/v1/listings/L1:publish"), ("DELETE", "/v1/listings/L1"), ("GET", "/v2/x")],
)
def test_unbound_paths_find_nothing(verb: str, path: str) -> None:
    with pytest.raises(LookupError):
        find_route(ROUTES, verb, path)


def test_templates_with_patterns_compile() -> None:
    pattern, fields = compile_template("/v1/{name=orgs/*/listings/*}:close")
    assert fields == ("name",)
    found = pattern.fullmatch("/v1/orgs/o1/listings/l1:close")
    assert found is not None
    assert found.group(1) == "orgs/o1/listings/l1"


def test_query_parameters_fill_scalars_repeated_enums_and_nested_messages() -> None:
    route, variables = find_route(ROUTES, "GET", "/v1/listings")
    query = {
        "skills": ["react", "typescript"],
        "skillMatch": ["SKILL_MATCH_ALL"],
        "min_fee.currency": ["EUR"],
        "minFee.amountMinor": ["5000"],
        "remote": ["true"],
        "pageSize": ["10"],
        "deadlineAfter": ["2030-01-02T03:04:05Z"],
        "statuses": ["LISTING_STATUS_PUBLISHED"],
    }
    request = build_request(route, variables, query, b"")
    assert isinstance(request, service_pb2.SearchListingsRequest)
    assert list(request.skills) == ["react", "typescript"]
    assert request.skill_match == service_pb2.SKILL_MATCH_ALL
    assert (request.min_fee.currency, request.min_fee.amount_minor) == ("EUR", 5000)
    assert request.HasField("remote")
    assert request.remote
    assert request.page_size == 10
    assert request.deadline_after.seconds == 1893553445
    assert list(request.statuses) == [resources_pb2.LISTING_STATUS_PUBLISHED]


def test_the_path_wins_over_the_body() -> None:
    route, variables = find_route(ROUTES, "POST", "/v1/listings/from-path:publish")
    body = json.dumps({"listingId": "from-body", "expectedVersion": "3"}).encode()
    request = build_request(route, variables, {}, body)
    assert isinstance(request, service_pb2.PublishListingRequest)
    assert (request.listing_id, request.expected_version) == ("from-path", 3)


def test_path_values_are_percent_decoded() -> None:
    route, variables = find_route(ROUTES, "GET", "/v1/listings/a%20b")
    request = build_request(route, variables, {}, b"")
    assert isinstance(request, service_pb2.GetListingRequest)
    assert request.listing_id == "a b"


@pytest.mark.parametrize(
    ("verb", "path", "query", "body", "named"),
    [
        ("POST", "/v1/listings", {}, b'{"content": {"estimatedHours": "ten"}}', "estimatedHours"),
        ("POST", "/v1/listings", {}, b'{"colour": "red"}', "colour"),
        ("POST", "/v1/listings", {}, b"[1]", "JSON object"),
        ("POST", "/v1/listings", {}, b"{not json", "not JSON"),
        ("GET", "/v1/listings", {"pageSize": ["1", "2"]}, b"", "pageSize"),
        ("GET", "/v1/listings", {"sort": ["x"]}, b"", "sort"),
        ("GET", "/v1/listings", {"remote": ["yes"]}, b"", "remote"),
        ("GET", "/v1/listings", {"skillMatch": ["SOMETIMES"]}, b"", "skill_match"),
    ],
)
def test_bad_input_is_refused_naming_what_is_wrong(
    verb: str, path: str, query: dict[str, list[str]], body: bytes, named: str
) -> None:
    route, variables = find_route(ROUTES, verb, path)
    with pytest.raises(BadRequest, match=named):
        build_request(route, variables, query, body)


def test_responses_are_proto3_json_with_defaults() -> None:
    listing = resources_pb2.Listing(id="L1", version=2)
    document = json.loads(response_body(service_pb2.GetListingResponse(listing=listing)))
    assert document["listing"]["id"] == "L1"
    assert document["listing"]["version"] == "2"
    assert document["listing"]["seatsFilled"] == 0


def test_every_grpc_code_has_the_google_rpc_http_status() -> None:
    assert set(HTTP_STATUS) == set(grpc.StatusCode)
    assert HTTP_STATUS[grpc.StatusCode.INVALID_ARGUMENT] == 400
    assert HTTP_STATUS[grpc.StatusCode.UNAUTHENTICATED] == 401
    assert HTTP_STATUS[grpc.StatusCode.PERMISSION_DENIED] == 403
    assert HTTP_STATUS[grpc.StatusCode.NOT_FOUND] == 404
    assert HTTP_STATUS[grpc.StatusCode.ABORTED] == 409
    assert HTTP_STATUS[grpc.StatusCode.FAILED_PRECONDITION] == 400
    assert HTTP_STATUS[grpc.StatusCode.UNAVAILABLE] == 503


def test_the_error_body_is_the_server_s_status_with_its_details() -> None:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="seats", description="gte 1")
            ]
        )
    )
    sent = status_pb2.Status(code=3, message="seats: gte 1", details=[detail])
    trailers = (("grpc-status-details-bin", sent.SerializeToString()),)
    status = status_message(grpc.StatusCode.INVALID_ARGUMENT, "ignored", trailers)
    body = json.loads(error_body(status))
    assert body["code"] == 3
    assert body["message"] == "seats: gte 1"
    assert body["details"][0]["fieldViolations"] == [{"field": "seats", "description": "gte 1"}]


def test_without_details_the_error_body_has_code_and_message() -> None:
    body = json.loads(error_body(status_message(grpc.StatusCode.NOT_FOUND, "no listing")))
    assert body == {"code": 5, "message": "no listing", "details": []}


@pytest.mark.parametrize("text", [False, True])
def test_grpc_web_frames_round_trip(text: bool) -> None:
    message = service_pb2.GetListingRequest(listing_id="L1").SerializeToString()
    body = grpc_web.frame(grpc_web.DATA, message)
    assert grpc_web.decode_request(base64.b64encode(body) if text else body, text) == message
    encoded = grpc_web.encode_response(
        b"xyz", 5, "not found: L1 100%", [("x-request-id", "r1")], text
    )
    raw = base64.b64decode(encoded) if text else encoded
    assert raw[:8] == b"\x00\x00\x00\x00\x03xyz"
    assert raw[8] == grpc_web.TRAILERS
    trailer = raw[13:].decode()
    assert trailer == "grpc-status:5\r\ngrpc-message:not found: L1 100%25\r\nx-request-id:r1\r\n"


@pytest.mark.parametrize("body", [b"", b"\x00\x00\x00\x00\x09abc", b"\x01\x00\x00\x00\x00"])
def test_malformed_grpc_web_requests_are_refused(body: bytes) -> None:
    with pytest.raises(grpc_web.FramingError):
        grpc_web.decode_request(body, text=False)


def test_cors_answers_only_configured_origins() -> None:
    policy = CorsPolicy.of(["http://localhost:3000/", " "])
    assert policy.allows("http://localhost:3000")
    assert not policy.allows("http://localhost:3001")
    assert policy.preflight_headers("https://evil.example") == []
    headers = dict(policy.preflight_headers("http://localhost:3000"))
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "idempotency-key" in headers["Access-Control-Allow-Headers"]
    assert CorsPolicy.of(["*"]).allows("https://any.example")


def test_settings_come_from_the_environment() -> None:
    config = from_env(
        {
            "STINT_EDGE_PORT": "9000",
            "STINT_EDGE_CORS_ORIGINS": "https://app.example, https://m.example",
            "STINT_LISTINGS_GRPC_PORT": "6001",
            "STINT_EDGE_PAYOUTS_ADDRESS": "payouts.internal:7000",
        }
    )
    assert config.url == "http://127.0.0.1:9000"
    assert config.cors_origins == ("https://app.example", "https://m.example")
    assert config.upstreams["listings"] == "127.0.0.1:6001"
    assert config.upstreams["payouts"] == "payouts.internal:7000"
    assert config.upstreams["applications"] == "127.0.0.1:50052"
    with pytest.raises(ConfigError, match="STINT_EDGE_PORT"):
        from_env({"STINT_EDGE_PORT": "http"})
