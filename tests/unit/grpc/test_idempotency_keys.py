"""Idempotency keys: what a valid key is, how requests are fingerprinted and callers kept apart."""

from __future__ import annotations

import grpc
import pytest
from stint.listings.v1 import service_pb2
from stint_runtime.errors import DomainError, InvalidArgument
from stint_runtime.grpc.idempotency import StoredOutcome, fingerprint, record_id, require_key

from tests.support.grpc_listings import create_request


@pytest.mark.parametrize("key", [None, "", "x" * 129, "tab\tinside", "naïve"])
def test_invalid_keys_name_the_metadata(key: str | None) -> None:
    with pytest.raises(InvalidArgument) as refused:
        require_key(key)
    assert refused.value.field == "idempotency-key"


def test_valid_keys_pass() -> None:
    assert require_key("x" * 128) == "x" * 128
    assert require_key("order 42: retry~1") == "order 42: retry~1"


def test_fingerprint_depends_on_method_and_content_only() -> None:
    method = "/stint.listings.v1.ListingsService/CreateListing"
    assert fingerprint(method, create_request("A")) == fingerprint(method, create_request("A"))
    assert fingerprint(method, create_request("A")) != fingerprint(method, create_request("B"))
    assert fingerprint(method, create_request("A")) != fingerprint("/x/Other", create_request("A"))


def test_record_ids_of_different_callers_never_collide() -> None:
    assert record_id("a:b", "c") != record_id("a", "b:c")
    assert record_id("alice", "k") != record_id("bob", "k")


def test_stored_outcomes_replay_responses_and_errors() -> None:
    response = service_pb2.GetListingResponse()
    response.listing.id = "lst-1"
    stored = StoredOutcome(response.SerializeToString(), None, "")
    assert stored.replay(service_pb2.GetListingResponse) == response
    failed = StoredOutcome(None, grpc.StatusCode.NOT_FOUND, "listing lst-1 not found")
    with pytest.raises(DomainError) as replayed:
        failed.replay(service_pb2.GetListingResponse)
    assert replayed.value.code == grpc.StatusCode.NOT_FOUND
    assert replayed.value.message == "listing lst-1 not found"
