"""Every response, success or error, carries the request id and trace id in its headers and
trailers; errors also carry them in google.rpc.RequestInfo inside the status details."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry import trace
from stint.listings.v1 import service_pb2
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.grpc.correlation import REQUEST_ID_HEADER, TRACE_ID_HEADER
from stint_runtime.settings import StintSettings
from stint_runtime.telemetry import configure_telemetry

from tests.integration.grpc.conftest import Harness
from tests.support.grpc_listings import BOOM, DOMAIN_ERROR, create_request

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _traced(grpc_settings: StintSettings) -> None:
    """Tracing as every service runs it (ServiceApp configures it at start), set up before the
    harness opens its channel, so the client propagates the gateway's trace like a real one."""
    configure_telemetry(grpc_settings)


@contextmanager
def gateway_span() -> Iterator[str]:
    """A span of the calling gateway; calls made inside belong to its trace (the id yielded)."""
    with trace.get_tracer("gateway").start_as_current_span("bff request") as span:
        yield format(span.get_span_context().trace_id, "032x")


def ids(metadata: Any) -> dict[str, str]:
    found = dict(metadata or ())
    return {k: found[k] for k in (REQUEST_ID_HEADER, TRACE_ID_HEADER) if k in found}


def request_info(error: grpc.aio.AioRpcError) -> Any:
    trailers: dict[str, Any] = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert status.code == error.code().value[0]
    assert status.message == error.details()
    for detail in status.details:
        info = error_details_pb2.RequestInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no RequestInfo in the status details")


async def test_a_success_carries_the_ids_in_headers_and_trailers(harness: Harness) -> None:
    with gateway_span() as trace_id:
        call = harness.stub.GetListing(
            service_pb2.GetListingRequest(listing_id="listing-1"),
            metadata=call_metadata(token=harness.token("student")),
        )
        await call
    headers, trailers = ids(await call.initial_metadata()), ids(await call.trailing_metadata())
    assert headers == trailers
    assert headers[TRACE_ID_HEADER] == trace_id
    assert re.fullmatch(r"[0-9a-f]{32}", headers[REQUEST_ID_HEADER])


async def test_each_call_gets_its_own_request_id(harness: Harness) -> None:
    seen = set()
    for _ in range(3):
        call = harness.stub.GetListing(service_pb2.GetListingRequest(listing_id="listing-1"))
        await call
        seen.add(ids(await call.initial_metadata())[REQUEST_ID_HEADER])
    assert len(seen) == 3


async def test_the_gateways_own_request_id_is_kept(harness: Harness) -> None:
    call = harness.stub.GetListing(
        service_pb2.GetListingRequest(listing_id="listing-1"),
        metadata=((REQUEST_ID_HEADER, "bff-req-42"),),
    )
    await call
    assert ids(await call.initial_metadata())[REQUEST_ID_HEADER] == "bff-req-42"


@pytest.mark.parametrize(
    ("make_metadata", "sent", "code"),
    [
        (lambda h: (), create_request(), grpc.StatusCode.UNAUTHENTICATED),
        (
            lambda h: call_metadata(token=h.token("student"), idempotency_key="k"),
            create_request(),
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            lambda h: call_metadata(token=h.token("employer"), idempotency_key="k"),
            service_pb2.CreateListingRequest(employer_org_id="org-1"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            lambda h: call_metadata(
                token=h.token("employer"), idempotency_key=new_idempotency_key()
            ),
            create_request(DOMAIN_ERROR),
            grpc.StatusCode.FAILED_PRECONDITION,
        ),
        (
            lambda h: call_metadata(
                token=h.token("employer"), idempotency_key=new_idempotency_key()
            ),
            create_request(BOOM),
            grpc.StatusCode.INTERNAL,
        ),
    ],
    ids=["unauthenticated", "permission-denied", "invalid-argument", "domain-error", "internal"],
)
async def test_an_error_carries_the_ids_in_metadata_and_status_details(
    harness: Harness, make_metadata: Any, sent: Any, code: grpc.StatusCode
) -> None:
    with gateway_span() as trace_id:
        call = harness.stub.CreateListing(sent, metadata=make_metadata(harness))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
    error = refused.value
    assert error.code() == code
    headers = ids(await call.initial_metadata())
    trailers = ids(error.trailing_metadata())
    assert headers == trailers
    assert headers[TRACE_ID_HEADER] == trace_id
    info = request_info(error)
    assert info.request_id == headers[REQUEST_ID_HEADER]
    assert info.serving_data == f"trace_id={trace_id}"


async def test_bad_request_details_stay_beside_the_request_info(harness: Harness) -> None:
    call = harness.stub.CreateListing(
        service_pb2.CreateListingRequest(employer_org_id="org-1"),
        metadata=call_metadata(token=harness.token("employer"), idempotency_key="k"),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    trailers: dict[str, Any] = dict(refused.value.trailing_metadata() or ())  # type: ignore[arg-type]
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["content"]
    assert request_info(refused.value).request_id
