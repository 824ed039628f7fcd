"""Every RPC but health authenticates its caller; the declared policy decides who may call what."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from stint.listings.v1 import service_pb2
from stint_runtime.grpc.auth import mint_token
from stint_runtime.grpc.client import call_metadata, new_idempotency_key

from tests.integration.grpc.conftest import Harness
from tests.support.grpc_listings import create_request

pytestmark = pytest.mark.integration


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned_token() -> str:
    claims = {"sub": "mallory", "role": "admin", "exp": 4_102_444_800}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


async def _create(harness: Harness, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    try:
        await harness.stub.CreateListing(create_request(), metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _refusal(harness: Harness, authorization: str | None) -> grpc.aio.AioRpcError:
    metadata = [("idempotency-key", new_idempotency_key())]
    if authorization is not None:
        metadata.append(("authorization", authorization))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(create_request(), metadata=tuple(metadata))
    return refused.value


def _bad_tokens(harness: Harness) -> dict[str, str | None]:
    settings = harness.settings
    claims = {"sub": "user-1", "role": "employer", "org": "org-1"}
    return {
        "missing": None,
        "not a bearer": "Basic dXNlcjpwYXNz",
        "malformed": "Bearer not-a-jwt",
        "wrongly signed": "Bearer "
        + jwt.encode(
            {**claims, "exp": 4_102_444_800}, "another-secret-entirely-32-bytes!", "HS256"
        ),
        "expired": "Bearer "
        + mint_token(settings, sub="user-1", role="employer", org="org-1", ttl=timedelta(hours=-1)),
        "alg=none": f"Bearer {_unsigned_token()}",
    }


async def test_bad_tokens_are_unauthenticated_and_the_servicer_never_runs(harness: Harness) -> None:
    for case, authorization in _bad_tokens(harness).items():
        error = await _refusal(harness, authorization)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, case
        if authorization is not None:
            token = authorization.split(" ", 1)[1]
            assert token not in (error.details() or ""), f"{case}: the token is echoed"
    assert harness.servicer.calls["CreateListing"] == 0


async def test_refusals_say_why(harness: Harness) -> None:
    tokens = _bad_tokens(harness)
    assert "missing bearer token" in ((await _refusal(harness, None)).details() or "")
    assert "expired" in ((await _refusal(harness, tokens["expired"])).details() or "")
    assert "algorithm" in ((await _refusal(harness, tokens["alg=none"])).details() or "")
    assert "signature" in ((await _refusal(harness, tokens["wrongly signed"])).details() or "")


async def test_wrong_role_is_permission_denied(harness: Harness) -> None:
    metadata = call_metadata(token=harness.token("student"), idempotency_key=new_idempotency_key())
    assert await _create(harness, metadata) == grpc.StatusCode.PERMISSION_DENIED
    admin_only = service_pb2.ApproveListingRequest(listing_id="lst-1", expected_version=1)
    employer = call_metadata(token=harness.token("employer"), idempotency_key="k-1")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.ApproveListing(admin_only, metadata=employer)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert harness.servicer.calls["ApproveListing"] == 0


async def test_the_right_role_reaches_the_servicer_as_its_principal(harness: Harness) -> None:
    metadata = call_metadata(
        token=harness.token("employer", sub="emp-7"), idempotency_key=new_idempotency_key()
    )
    response = await harness.stub.CreateListing(create_request(), metadata=metadata)
    assert response.listing.created_by == "emp-7"


async def test_public_rpc_admits_anonymous_callers_but_not_bad_tokens(harness: Harness) -> None:
    request = service_pb2.GetListingRequest(listing_id="lst-1")
    anonymous = await harness.stub.GetListing(request)
    assert anonymous.listing.created_by == "anonymous"
    signed_in = await harness.stub.GetListing(
        request, metadata=call_metadata(token=harness.token("student", sub="stu-3"))
    )
    assert signed_in.listing.created_by == "stu-3"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.GetListing(request, metadata=(("authorization", "Bearer garbage"),))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_health_needs_no_token(harness: Harness) -> None:
    health = health_pb2_grpc.HealthStub(harness.channel)
    for service in ("", "stint.listings.v1.ListingsService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
