"""Bad input is INVALID_ARGUMENT naming the field, domain errors keep their code, crashes are
INTERNAL with a generic message."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from stint.listings.v1 import service_pb2
from stint_runtime.grpc.client import call_metadata, new_idempotency_key
from stint_runtime.grpc.pipeline import INTERNAL_MESSAGE

from tests.integration.grpc.conftest import Harness
from tests.support.grpc_listings import (
    BOOM,
    DOMAIN_ERROR,
    SECRET_IN_EXCEPTION,
    create_request,
    listing_content,
)

pytestmark = pytest.mark.integration


def _employer(harness: Harness) -> tuple[tuple[str, str], ...]:
    return call_metadata(token=harness.token("employer"), idempotency_key=new_idempotency_key())


async def _error(
    harness: Harness, request: service_pb2.CreateListingRequest
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await harness.stub.CreateListing(request, metadata=_employer(harness))
    return refused.value


async def test_invalid_request_names_each_field_and_rule(harness: Harness) -> None:
    request = service_pb2.CreateListingRequest(
        employer_org_id="org-1", content=listing_content(estimated_hours=0, seats=0)
    )
    error = await _error(harness, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error.details() or ""
    assert "content.estimated_hours: must be greater than 0" in details
    assert "content.seats: must be greater than or equal to 1" in details
    assert harness.servicer.calls["CreateListing"] == 0


async def test_invalid_request_carries_a_bad_request_detail(harness: Harness) -> None:
    request = service_pb2.CreateListingRequest(employer_org_id="org-1")
    error = await _error(harness, request)
    trailing: dict[str, Any] = dict(error.trailing_metadata() or ())  # type: ignore[arg-type]
    raw = trailing["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["content"]


async def test_domain_error_keeps_its_code_and_message(harness: Harness) -> None:
    error = await _error(harness, create_request(DOMAIN_ERROR))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "listing is not in a state that allows this"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await harness.stub.GetListing(service_pb2.GetListingRequest(listing_id=DOMAIN_ERROR))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_unexpected_exception_is_internal_and_logged_without_details(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="stint_runtime.grpc.pipeline"):
        error = await _error(harness, create_request(BOOM))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == INTERNAL_MESSAGE
    assert SECRET_IN_EXCEPTION not in (error.details() or "")
    logged = [r for r in caplog.records if r.name == "stint_runtime.grpc.pipeline"]
    assert logged
    assert logged[0].exc_info is not None
    assert "/stint.listings.v1.ListingsService/CreateListing" in logged[0].getMessage()
    assert "Build a landing page" not in caplog.text
