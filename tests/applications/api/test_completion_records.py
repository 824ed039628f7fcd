"""Completion records over gRPC: issued once PayoutPaid (a real payouts.v1 event) arrives, they
verify with the platform's public key and stop verifying when any field changes."""

from __future__ import annotations

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from stint.applications.v1 import resources_pb2, service_pb2
from stint_applications.adapters.signing import dev_private_key, key_id, verify

from tests.applications.api.kit import (
    DAY,
    EMPLOYER,
    ApplicationsClient,
    EngStatus,
    EventFeed,
    new_student,
    published_events,
)
from tests.applications.builders import NOW

pytestmark = pytest.mark.integration
PUBLIC_KEY = dev_private_key().public_key()
OTHER_KEY = Ed25519PrivateKey.generate().public_key()


def changed(record: resources_pb2.CompletionRecord) -> list[resources_pb2.CompletionRecord]:
    """Copies of `record`, each with one field of the record, its claim or the signed bytes
    altered."""
    copies = []
    for record_field, value in (("id", "cr-forged"), ("key_id", key_id(OTHER_KEY))):
        relabelled = resources_pb2.CompletionRecord()
        relabelled.CopyFrom(record)
        setattr(relabelled, record_field, value)
        copies.append(relabelled)
    for field in (
        "student_id",
        "listing_title",
        "estimated_hours",
        "skills",
        "complete_time",
        "record_id",
        "key_id",
    ):
        copy = resources_pb2.CompletionRecord()
        copy.CopyFrom(record)
        claim = copy.claim
        if field == "estimated_hours":
            claim.estimated_hours = 400
        elif field == "skills":
            claim.skills.append("kubernetes")
        elif field == "complete_time":
            claim.complete_time.FromDatetime(NOW - 30 * DAY)
        else:
            setattr(claim, field, "someone else")
        copies.append(copy)
    forged = resources_pb2.CompletionRecord()
    forged.CopyFrom(record)
    forged.claim.listing_title = "Senior architect"
    forged.claim_bytes = forged.claim.SerializeToString(deterministic=True)
    copies.append(forged)
    zeroed_signature = resources_pb2.CompletionRecord()
    zeroed_signature.CopyFrom(record)
    zeroed_signature.signature = bytes(len(record.signature))
    copies.append(zeroed_signature)
    return copies


async def test_a_paid_engagement_yields_a_record_that_verifies_until_changed(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    student = new_student()
    engagement = await client.submit(await client.engaged(listing.id, student), student)
    request = service_pb2.GetCompletionRecordRequest(engagement_id=engagement.id)
    assert await client.code_of("GetCompletionRecord", request, student) == (
        grpc.StatusCode.FAILED_PRECONDITION
    ), "no record before the work is accepted"
    approved = await client.approve(engagement)
    issued = await client.record(approved.id, student)
    assert verify(issued, PUBLIC_KEY), "issued at acceptance, independent of payment"

    await feed.payout_paid(approved)
    await feed.payout_paid(approved)  # a redelivered PayoutPaid changes nothing
    paid = await client.wait_engagement(approved.id, EngStatus.ENGAGEMENT_STATUS_PAID)
    record = await client.record(paid.id, student)
    assert record == issued, "payment does not change the record"

    assert verify(record, PUBLIC_KEY)
    assert record.key_id == key_id(PUBLIC_KEY)
    assert record.claim.engagement_id == paid.id
    assert (record.claim.record_id, record.claim.key_id) == (record.id, record.key_id)
    assert record.claim.student_id == student.subject
    assert record.claim.employer_org_id == EMPLOYER.org
    assert record.claim.listing_title == listing.title
    assert list(record.claim.skills) == list(listing.skills)
    assert record.claim.estimated_hours == listing.estimated_hours
    assert record == await client.record(paid.id, EMPLOYER), "one record, the same for both"
    for altered in changed(record):
        assert not verify(altered, PUBLIC_KEY), altered.claim

    completed = await published_events(client.settings.kafka_bootstrap_servers, paid.id, 4)
    assert completed.count("EngagementCompleted") == 1
