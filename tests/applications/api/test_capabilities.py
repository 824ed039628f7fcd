"""Issue #8's capabilities through gRPC: a university verifies a completion record with nothing
but `cryptography` and the public keys, messages between the parties, invitations, reputation
beside applications, and lists that show what needs the caller."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from stint.applications.v1 import resources_pb2, service_pb2
from stint_runtime.clock import ManualClock

from tests.applications.api.kit import (
    EMPLOYER,
    NOBODY,
    OTHER_STUDENT,
    ApplicationsClient,
    AppStatus,
    EventFeed,
    Who,
    new_student,
    published_events,
)

pytestmark = pytest.mark.integration


async def _approved(client: ApplicationsClient, feed: EventFeed, student: Who) -> str:
    listing = await feed.published()
    engagement = await client.submit(await client.engaged(listing.id, student), student)
    approved = await client.approve(engagement)
    return approved.id


def university_verifies(keys: list[resources_pb2.SigningKey], record: bytes) -> bool:
    """What a university writes, with `cryptography` only: find the key, check the signature
    over the signed bytes (the student hands over the record; the keys are public)."""
    parsed = resources_pb2.CompletionRecord.FromString(record)
    key = next((k for k in keys if k.key_id == parsed.key_id), None)
    if key is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key.public_key).verify(
            parsed.signature, parsed.claim_bytes
        )
    except InvalidSignature:
        return False
    return True


async def test_a_university_verifies_a_record_from_the_public_keys(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    student = new_student()
    engagement_id = await _approved(client, feed, student)
    record = await client.record(engagement_id, student)
    keys = (await client.call("ListSigningKeys", service_pb2.ListSigningKeysRequest(), NOBODY)).keys
    assert [(k.algorithm, k.active) for k in keys] == [("Ed25519", True)]
    assert university_verifies(list(keys), record.SerializeToString())
    forged = resources_pb2.CompletionRecord()
    forged.CopyFrom(record)
    forged.claim_bytes = forged.claim_bytes.replace(b"Build", b"Lead ")
    assert not university_verifies(list(keys), forged.SerializeToString())

    verdict = await client.call(
        "VerifyCompletionRecord", service_pb2.VerifyCompletionRecordRequest(record=record), NOBODY
    )
    assert (verdict.valid, verdict.claim.student_id) == (True, student.subject)
    assert verdict.claim.outcome == resources_pb2.COMPLETION_OUTCOME_APPROVED
    assert (verdict.claim.payout_percent, verdict.claim.estimated_hours) == (100, 10)
    refused = await client.call(
        "VerifyCompletionRecord", service_pb2.VerifyCompletionRecordRequest(record=forged), NOBODY
    )
    assert (refused.valid, refused.reason) == (False, "signature does not match the signed claim")

    by_id = service_pb2.GetCompletionRecordRequest(record_id=record.id)
    assert (await client.call("GetCompletionRecord", by_id, EMPLOYER)).record == record
    assert await client.code_of("GetCompletionRecord", by_id, OTHER_STUDENT) == (
        grpc.StatusCode.NOT_FOUND
    )


async def test_the_parties_talk_in_a_thread_and_the_event_never_carries_the_text(
    client: ApplicationsClient, feed: EventFeed, clock: ManualClock
) -> None:
    listing = await feed.published()
    student = new_student()
    applied = await client.apply(listing.id, student)
    for who, text in ((student, "Is the data anonymised?"), (EMPLOYER, "Yes, fully.")):
        request = service_pb2.PostMessageRequest(application_id=applied.id, text=text)
        await client.call("PostMessage", request, who)
        clock.advance(timedelta(minutes=1))  # the thread is ordered by time
    thread = await client.call(
        "ListMessages", service_pb2.ListMessagesRequest(application_id=applied.id), student
    )
    assert [(m.author, m.text) for m in thread.messages] == [
        (resources_pb2.PARTY_EMPLOYER, "Yes, fully."),
        (resources_pb2.PARTY_STUDENT, "Is the data anonymised?"),
    ]
    too_long = service_pb2.PostMessageRequest(application_id=applied.id, text="x" * 4001)
    assert await client.code_of("PostMessage", too_long, student) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    posted = await published_events(
        client.settings.kafka_bootstrap_servers, thread.messages[0].id, 1
    )
    assert posted == ["MessagePosted"]


async def test_an_invited_student_goes_straight_to_the_shortlist(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    student = new_student()
    await _approved(client, feed, student)
    listing = await feed.published()
    request = service_pb2.InviteStudentRequest(listing_id=listing.id, student_id=student.subject)
    invitation = (await client.call("InviteStudent", request, EMPLOYER)).invitation
    assert (invitation.listing_id, invitation.invited_by) == (listing.id, EMPLOYER.subject)
    assert await client.code_of("InviteStudent", request, EMPLOYER) == (
        grpc.StatusCode.ALREADY_EXISTS
    )
    stranger = service_pb2.InviteStudentRequest(
        listing_id=listing.id, student_id=new_student().subject
    )
    assert await client.code_of("InviteStudent", stranger, EMPLOYER) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )
    applied = await client.apply(listing.id, student)
    assert (applied.status, applied.invited) == (AppStatus.APPLICATION_STATUS_SHORTLISTED, True)
    events = await published_events(client.settings.kafka_bootstrap_servers, invitation.id, 1)
    assert events == ["StudentInvited"]


async def test_each_side_sees_the_others_record_beside_an_application(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    student = new_student()
    done = await _approved(client, feed, student)
    await client.feedback(await client.get_engagement(done), EMPLOYER, rating=4)
    await client.feedback(await client.get_engagement(done), student, rating=5)
    listing = await feed.published()
    applied = await client.apply(listing.id, student)

    seen_by_employer = await client.get_application(applied.id, EMPLOYER)
    summary = seen_by_employer.student_summary
    assert (summary.completed_engagements, summary.ratings, summary.average_rating_x100) == (
        1,
        1,
        400,
    )
    assert not seen_by_employer.HasField("employer_record")
    seen_by_student = await client.get_application(applied.id, student)
    assert not seen_by_student.HasField("student_summary")
    assert seen_by_student.employer_record.employer_org_id == EMPLOYER.org
    assert seen_by_student.employer_record.ratings >= 1

    profile = await client.call(
        "GetStudentProfile",
        service_pb2.GetStudentProfileRequest(student_id=student.subject),
        EMPLOYER,
    )
    assert list(profile.profile.skills_demonstrated) == ["react", "typescript"]


async def test_needs_my_action_lists_only_what_waits_for_the_caller(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    listing = await feed.published()
    waiting, offered_to = new_student(), new_student()
    submitted = await client.apply(listing.id, waiting)
    offered = await client.offer(await client.apply(listing.id, offered_to))

    async def ids(who: Who, **fields: object) -> list[str]:
        request = service_pb2.ListApplicationsRequest(listing_id=listing.id, **fields)  # type: ignore[arg-type]
        return [a.id for a in (await client.call("ListApplications", request, who)).applications]

    assert await ids(EMPLOYER, needs_my_action=True) == [submitted.id]
    assert await ids(offered_to, needs_my_action=True) == [offered.id]
    soonest = await ids(EMPLOYER, order=service_pb2.LIST_ORDER_DEADLINE_SOONEST)
    assert soonest == [offered.id, submitted.id]
