"""Who may call each ListingsService RPC; ownership of a listing is checked by the handlers.

GetListing and SearchListings are public by design: anonymous visitors browse the marketplace
through a gateway without signing in, and see only what is public (by id: PUBLISHED, FILLED,
CLOSED and EXPIRED listings; in search: PUBLISHED and FILLED ones; never `created_by`).
Everything else needs a token; an employer acts only on its own organisation's listings.
"""

from __future__ import annotations

from stint.listings.v1 import service_pb2
from stint_runtime.grpc.policy import ServicePolicy, rule

LISTINGS_SERVICE = service_pb2.DESCRIPTOR.services_by_name["ListingsService"]

LISTINGS_POLICY = ServicePolicy(
    service=LISTINGS_SERVICE.full_name,
    rules={
        "CreateListing": rule("employer", mutating=True),
        "UpdateListing": rule("employer", mutating=True),
        "SubmitForReview": rule("employer", mutating=True),
        "ApproveListing": rule("admin", mutating=True),
        "RejectListing": rule("admin", mutating=True),
        "PublishListing": rule("employer", "admin", mutating=True),
        "CloseListing": rule("employer", "admin", mutating=True),
        "CancelListing": rule("employer", "admin", mutating=True),
        # Anonymous gateways browse the marketplace; they only ever see PUBLISHED/FILLED listings.
        "GetListing": rule("employer", "student", "admin", mutating=False, public=True),
        "SearchListings": rule("employer", "student", "admin", mutating=False, public=True),
    },
)
