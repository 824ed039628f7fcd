"""Rules the contract states: dates are checked at create, the org comes from the token, and a
search page token only continues the query it came from."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from stint.listings.v1 import service_pb2
from stint_runtime.clock import ManualClock

from tests.listings.api.kit import ORG_A, Caller, ListingsClient, content
from tests.support.grpc_errors import violated_fields

pytestmark = pytest.mark.integration


async def _refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call  # type: ignore[misc]
    return refused.value


async def test_a_deadline_in_the_past_is_refused_at_create(
    client: ListingsClient, clock: ManualClock
) -> None:
    error = await _refused(client.create(application_deadline=clock.now() - timedelta(hours=1)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "content.application_deadline: must be in the future"
    assert violated_fields(error) == {"content.application_deadline"}


async def test_a_due_date_no_publishing_could_meet_is_refused_at_create(
    client: ListingsClient, clock: ManualClock
) -> None:
    error = await _refused(
        client.create(
            application_deadline=clock.now() + timedelta(days=1),
            due_date=clock.now() + timedelta(days=6),
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"content.due_date"}
    assert "at least 7 days from now" in (error.details() or "")


async def test_an_empty_employer_org_id_is_the_callers_org(client: ListingsClient) -> None:
    listing = await client.create(org="")
    assert listing.employer_org_id == ORG_A


async def test_another_org_is_still_refused(client: ListingsClient) -> None:
    error = await _refused(client.create(org="org-b"))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_an_admin_must_name_the_org(client: ListingsClient) -> None:
    error = await _refused(client.create(Caller.ADMIN, org=""))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_search_token_reused_with_other_filters_is_refused(
    client: ListingsClient, clock: ManualClock
) -> None:
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        await client.published(skills=["rust", "go"])
    first = await client.search(skills=["rust"], page_size=1)
    assert first.next_page_token
    again = await client.search(skills=["rust"], page_size=2, page_token=first.next_page_token)
    assert again.listings, "the same query (another page size) continues"
    for other in (
        {"skills": ["go"]},
        {"skills": ["rust"], "order": service_pb2.SEARCH_ORDER_FEE_HIGHEST},
        {"skills": ["rust"], "remote": True},
    ):
        error = await _refused(client.search(page_token=first.next_page_token, **other))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, other
        assert violated_fields(error) == {"page_token"}, other


async def test_a_draft_edited_to_a_past_deadline_is_refused_at_once(
    client: ListingsClient, clock: ManualClock
) -> None:
    draft = await client.create()
    request = service_pb2.UpdateListingRequest(
        listing_id=draft.id,
        expected_version=draft.version,
        content=content(clock.now(), application_deadline=clock.now() - timedelta(days=1)),
    )
    error = await _refused(client.call("UpdateListing", request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error) == {"content.application_deadline"}
