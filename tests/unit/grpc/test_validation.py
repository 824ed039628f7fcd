"""Declarative validation names every offending field path and its rule."""

from __future__ import annotations

import pytest
from stint.listings.v1 import resources_pb2, service_pb2
from stint_runtime.grpc.validation import InvalidRequestError, RequestValidator

from tests.support.grpc_listings import create_request, listing_content


def _violations(request: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequestError) as invalid:
        RequestValidator().check(request)  # type: ignore[arg-type]
    return invalid.value.violations


def test_a_valid_request_passes() -> None:
    RequestValidator().check(create_request())


def test_nested_and_repeated_paths_are_named() -> None:
    content = listing_content(
        estimated_hours=0,
        deliverables=[resources_pb2.Deliverable(title="", acceptance_criteria=["ok"])],
    )
    found = dict(
        _violations(service_pb2.CreateListingRequest(employer_org_id="o", content=content))
    )
    assert found["content.estimated_hours"].startswith("must be")
    assert "content.deliverables[0].title" in found


def test_the_message_lists_each_violation_as_path_and_rule() -> None:
    request = service_pb2.GetListingRequest(listing_id="")
    with pytest.raises(InvalidRequestError) as invalid:
        RequestValidator().check(request)
    assert invalid.value.message == "listing_id: must be at least 1 characters"
    assert invalid.value.code.name == "INVALID_ARGUMENT"
