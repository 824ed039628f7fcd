"""Steps: the people, the university's webhook, two listings through moderation, alerts."""

from __future__ import annotations

import base64
import secrets

from stint.listings.v1 import resources_pb2 as listing_resources
from stint.listings.v1 import service_pb2 as listings
from stint.notifications.v1 import service_pb2 as notifications

from tools.demo.context import (
    COMPLETED,
    Demo,
    money,
)
from tools.demo.listings import brand_kit, dashboard


async def people(demo: Demo) -> str:
    cast = demo.cast
    contacts = [
        (cast.employer, cast.employer_email, "Ada (Northwind)"),
        (cast.admin, cast.admin_email, "Moderation"),
        *((s.user, s.email, s.name) for s in cast.students),
    ]
    for user, email, name in contacts:
        request = notifications.RegisterContactRequest(
            user_id=user.sub, email=email, display_name=name
        )
        await demo.call("notifications", "RegisterContact", request, user)
    for s in cast.students:
        subscribe = notifications.SubscribeSkillsRequest(user_id=s.user.sub, skills=s.skills)
        await demo.call("notifications", "SubscribeSkills", subscribe, s.user)
    await demo.register_account(demo.student["Amara"])
    return (
        f"org {cast.org}: employer {cast.employer.sub}, admin {cast.admin.sub}; "
        f"5 students with skill alerts; Amara registered a payout account, Bo did not"
    )


async def university_webhook(demo: Demo) -> str:
    amara = demo.student["Amara"]
    demo.university.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    request = notifications.RegisterWebhookRequest(
        owner_id=amara.user.sub,
        url=demo.university.url,
        secret=demo.university.secret,
        event_types=[COMPLETED],
    )
    webhook = (await demo.call("notifications", "RegisterWebhook", request, amara.user)).webhook
    return f"Amara shares completions with her university: {webhook.id} -> {demo.university.url}"


async def _approved_and_published(demo: Demo, listing: listing_resources.Listing) -> str:
    employer, admin = demo.cast.employer, demo.cast.admin
    approved = await demo.listing_rpc(
        "ApproveListing",
        listings.ApproveListingRequest(listing_id=listing.id, expected_version=listing.version),
        admin,
    )
    published = await demo.listing_rpc(
        "PublishListing",
        listings.PublishListingRequest(listing_id=approved.id, expected_version=approved.version),
        employer,
    )
    demo.facts.listings[published.title] = listing_resources.ListingStatus.Name(published.status)
    demo.listing[published.title] = published
    return published.id


async def _created_and_submitted(
    demo: Demo, content: listing_resources.ListingContent
) -> listing_resources.Listing:
    employer = demo.cast.employer
    draft = await demo.listing_rpc(
        "CreateListing",
        listings.CreateListingRequest(employer_org_id=demo.cast.org, content=content),
        employer,
    )
    return await demo.listing_rpc(
        "SubmitForReview",
        listings.SubmitForReviewRequest(listing_id=draft.id, expected_version=draft.version),
        employer,
    )


async def dashboard_listing(demo: Demo) -> str:
    pending = await _created_and_submitted(demo, dashboard(demo.now()))
    listing_id = await _approved_and_published(demo, pending)
    return f"{listing_id}: 3 seats, fee {money(pending.fee)}, approved and PUBLISHED"


async def brand_kit_moderation(demo: Demo) -> str:
    employer, admin = demo.cast.employer, demo.cast.admin
    pending = await _created_and_submitted(demo, brand_kit(demo.now(), fixed=False))
    reason = "Acceptance criteria must be checkable: 'Looks good' is not."
    rejected = await demo.listing_rpc(
        "RejectListing",
        listings.RejectListingRequest(
            listing_id=pending.id, expected_version=pending.version, reason=reason
        ),
        admin,
    )
    await demo.notified(employer, "Your listing was not approved")
    fixed = await demo.listing_rpc(
        "UpdateListing",
        listings.UpdateListingRequest(
            listing_id=rejected.id,
            expected_version=rejected.version,
            content=brand_kit(demo.now(), fixed=True),
        ),
        employer,
    )
    resubmitted = await demo.listing_rpc(
        "SubmitForReview",
        listings.SubmitForReviewRequest(listing_id=fixed.id, expected_version=fixed.version),
        employer,
    )
    listing_id = await _approved_and_published(demo, resubmitted)
    return f"{listing_id}: REJECTED ({reason!r}), fixed, resubmitted, approved, PUBLISHED"


async def skill_alerts(demo: Demo) -> str:
    for s in demo.cast.students:
        await demo.notified(s.user, "New project matching your skills")
    return "each of the 5 students got an alert for the project matching their skills"
