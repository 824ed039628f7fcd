"""Issue #8 at the domain level: supported currencies, moderation that cannot strand a listing,
limited edits of published listings, update masks and who reads an ended listing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from stint_listings.config import ListingsSettings
from stint_listings.domain import commands as c
from stint_listings.domain import events
from stint_listings.domain.content import Deliverable, Money, merged
from stint_listings.domain.model import ListingStatus
from stint_listings.domain.rules import Currency, PostingRules, currency_table
from stint_listings.service_layer import handlers
from stint_listings.service_layer.handlers import Context
from stint_runtime.clock import ManualClock
from stint_runtime.errors import FailedPrecondition, InvalidArgument, NotFound

from tests.listings.builders import (
    ADMIN,
    ANONYMOUS,
    NOW,
    OTHER_EMPLOYER,
    OWNER,
    RULES,
    STUDENT,
    content,
    draft,
    in_state,
    published,
)
from tests.listings.unit.fakes import FakeListingRepository

S = ListingStatus
DAY = timedelta(days=1)


# ---- 2. supported currencies -----------------------------------------------------------------


@pytest.mark.parametrize("currency", ["KRW", "ZZZ", "JPY", "usd"])
def test_a_currency_outside_the_table_is_refused_naming_fee_currency(currency: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        draft(fee=Money(10_000_000, currency))
    assert refused.value.field == "content.fee.currency"
    assert "USD" in refused.value.message


@pytest.mark.parametrize("currency", ["USD", "EUR", "GBP", "CAD", "AUD"])
def test_each_default_currency_has_its_own_floor_of_20_an_hour(currency: str) -> None:
    assert draft(fee=Money(20_000, currency), estimated_hours=10).content.fee.currency == currency
    with pytest.raises(InvalidArgument) as refused:
        draft(fee=Money(19_999, currency), estimated_hours=10)
    assert refused.value.field == "content.fee"
    assert f"20000 {currency}" in refused.value.message


def test_a_configured_table_applies_each_floor_in_its_own_currency() -> None:
    rules = PostingRules(
        currencies=currency_table([Currency("GBP", 2, 1_500), Currency("JPY", 0, 3_000)])
    )
    listing = draft()
    listing.update(content(fee=Money(30_000, "JPY")), rules, NOW)
    with pytest.raises(InvalidArgument, match="30000 JPY"):
        listing.update(content(fee=Money(29_999, "JPY")), rules, NOW)
    with pytest.raises(InvalidArgument) as refused:
        listing.update(content(fee=Money(20_000, "USD")), rules, NOW)
    assert refused.value.field == "content.fee.currency"


# ---- 5. moderation -----------------------------------------------------------------------------


def test_approval_records_who_and_when_and_is_announced() -> None:
    listing = in_state(S.PENDING_REVIEW)
    listing.approve(ADMIN.subject, NOW)
    assert (listing.reviewed_by, listing.approve_time) == (ADMIN.subject, NOW)
    assert listing.events == [events.ListingApproved("l-1")]


@pytest.mark.parametrize("approved", [False, True])
def test_editing_a_listing_under_review_returns_it_to_draft(approved: bool) -> None:
    listing = in_state(S.PENDING_REVIEW, approved=approved)
    listing.update(content(title="A clearer title"), RULES, NOW)
    assert listing.status is S.DRAFT
    assert (listing.approved, listing.reviewed_by) == (False, "")
    assert listing.events == [events.ListingUpdated("l-1")]
    listing.submit_for_review(RULES, NOW)
    with pytest.raises(FailedPrecondition, match="before approval"):
        listing.publish(RULES, NOW)


def test_a_published_listing_takes_a_later_deadline_more_seats_and_a_clearer_text() -> None:
    listing = published(seats=2)
    later = listing.content.application_deadline + 3 * DAY
    listing.update(
        content(application_deadline=later, seats=4, description="Now with a data sample."),
        RULES,
        NOW + DAY,
    )
    assert (listing.status, listing.content.seats) == (S.PUBLISHED, 4)
    assert listing.content.application_deadline == later
    assert listing.wanted_timers() == {"expire": later}
    assert listing.events == [events.ListingUpdated("l-1")]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"fee": Money(30_000, "USD")}, "fee"),
        ({"estimated_hours": 12}, "estimated_hours"),
        ({"deliverables": (Deliverable("Other", "", ("Works",)),)}, "deliverables"),
        ({"title": "Another project"}, "title"),
    ],
)
def test_a_published_listing_never_changes_its_terms(change: dict[str, object], named: str) -> None:
    listing = published()
    with pytest.raises(FailedPrecondition, match=named):
        listing.update(content(**change), RULES, NOW)  # type: ignore[arg-type]
    assert listing.events == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"application_deadline": NOW + 4 * DAY}, "content.application_deadline"),
        ({"seats": 1}, "content.seats"),
    ],
)
def test_a_published_listing_only_extends_its_deadline_and_grows_its_seats(
    change: dict[str, object], field: str
) -> None:
    listing = published(seats=2)
    with pytest.raises(InvalidArgument) as refused:
        listing.update(content(**change), RULES, NOW)  # type: ignore[arg-type]
    assert refused.value.field == field


@pytest.mark.parametrize("status", [S.FILLED, S.CLOSED, S.EXPIRED, S.CANCELLED])
def test_ended_or_filled_listings_take_no_edit(status: ListingStatus) -> None:
    with pytest.raises(FailedPrecondition, match=status.value):
        in_state(status).update(content(description="More text"), RULES, NOW)


def test_an_update_mask_takes_only_the_named_fields() -> None:
    stored = content()
    sent = content(title="ignored", description="taken", seats=5)
    assert merged(stored, sent, ("description", "content.seats")) == content(
        description="taken", seats=5
    )
    assert merged(stored, sent, ()) == sent
    with pytest.raises(InvalidArgument) as refused:
        merged(stored, sent, ("description", "owner"))
    assert refused.value.field == "update_mask.paths[1]"


def test_update_listing_applies_the_mask_through_the_handler() -> None:
    listing = published()
    repo = FakeListingRepository(listing)
    ctx = Context(clock=ManualClock(NOW))
    sent = content(title="Not taken", description="Clearer scope")
    command = c.UpdateListing(OWNER, listing.id, listing.version, sent, ("description",))
    updated = handlers.update_listing(command, repo, ctx)
    assert (updated.content.title, updated.content.description) == (
        listing.content.title,
        "Clearer scope",
    )


# ---- 3. ended listings stay readable -----------------------------------------------------------


@pytest.mark.parametrize("status", list(ListingStatus))
@pytest.mark.parametrize("actor", [STUDENT, ANONYMOUS, OTHER_EMPLOYER])
def test_anyone_reads_open_and_ended_listings_by_id_but_not_private_ones(
    status: ListingStatus, actor: c.Actor
) -> None:
    listing = in_state(status)
    repo = FakeListingRepository(listing)
    ctx = Context(clock=ManualClock(NOW))
    query = c.GetListing(actor, listing.id)
    if status in {S.PUBLISHED, S.FILLED, S.CLOSED, S.EXPIRED}:
        assert handlers.get_listing(query, repo, ctx).id == listing.id
    else:
        with pytest.raises(NotFound):
            handlers.get_listing(query, repo, ctx)
    assert handlers.get_listing(c.GetListing(OWNER, listing.id), repo, ctx).id == listing.id
    assert handlers.get_listing(c.GetListing(ADMIN, listing.id), repo, ctx).id == listing.id


def test_the_currency_table_is_configured_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "STINT_LISTINGS_CURRENCIES", '{"JPY": {"exponent": 0, "hourly_floor_minor": 3000}}'
    )
    rules = ListingsSettings().posting_rules()
    assert rules.currencies == {"JPY": Currency("JPY", 0, 3_000)}
    with pytest.raises(InvalidArgument) as refused:
        rules.currency("USD")
    assert refused.value.field == "content.fee.currency"
    default = PostingRules()
    assert sorted(default.currencies) == ["AUD", "CAD", "EUR", "GBP", "USD"]
