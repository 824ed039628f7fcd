"""Every RPC x {owning student, other student, owning employer, other employer, admin, no token}.

Each row brings an application or engagement to a state where the RPC succeeds for a caller
allowed to make it, so the status says who may act: a party acting outside its side is
PERMISSION_DENIED (declared policy), a student or employer who is not a party gets NOT_FOUND
(existence never leaks), no token is UNAUTHENTICATED. A mutating call that succeeds changes the
state, so every caller expected to succeed gets a fresh scene of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import grpc
import pytest
from google.protobuf.message import Message
from stint.applications.v1 import resources_pb2, service_pb2

from tests.applications.api.kit import (
    ADMIN,
    EMPLOYER,
    MUTATING,
    NOBODY,
    OTHER_EMPLOYER,
    OTHER_STUDENT,
    Application,
    ApplicationsClient,
    Engagement,
    EngStatus,
    EventFeed,
    Who,
    answers,
    checklist_for,
    new_student,
)

pytestmark = pytest.mark.integration
Code = grpc.StatusCode
OK, DENIED, NOT_FOUND, UNAUTHENTICATED = (
    Code.OK,
    Code.PERMISSION_DENIED,
    Code.NOT_FOUND,
    Code.UNAUTHENTICATED,
)


class Caller(Enum):
    STUDENT = "owning student"
    OTHER_STUDENT = "other student"
    EMPLOYER = "owning employer"
    OTHER_EMPLOYER = "other employer"
    ADMIN = "admin"
    NOBODY = "no token"


S, OS, E, OE, A, N = Caller


@dataclass
class Scene:
    student: Who
    listing_id: str
    application: Application | None = None
    engagement: Engagement | None = None

    def who(self, caller: Caller) -> Who:
        fixed = {OS: OTHER_STUDENT, E: EMPLOYER, OE: OTHER_EMPLOYER, A: ADMIN, N: NOBODY}
        return self.student if caller is S else fixed[caller]

    @property
    def a(self) -> Application:
        assert self.application is not None
        return self.application

    @property
    def e(self) -> Engagement:
        assert self.engagement is not None
        return self.engagement


@dataclass(frozen=True)
class Case:
    method: str
    state: str
    request: Callable[[Scene], Message]
    expected: dict[Caller, Code]


STUDENT_OWN = {S: OK, OS: NOT_FOUND, E: DENIED, OE: DENIED, A: DENIED, N: UNAUTHENTICATED}
EMPLOYER_OWN = {S: DENIED, OS: DENIED, E: OK, OE: NOT_FOUND, A: DENIED, N: UNAUTHENTICATED}
PARTIES_AND_ADMIN = {S: OK, OS: NOT_FOUND, E: OK, OE: NOT_FOUND, A: OK, N: UNAUTHENTICATED}
EVERYONE_SIGNED_IN = {S: OK, OS: OK, E: OK, OE: OK, A: OK, N: UNAUTHENTICATED}

MATRIX = [
    Case(
        "Apply",
        "LISTING",
        lambda s: service_pb2.ApplyRequest(listing_id=s.listing_id, answers=answers()),
        {S: OK, OS: OK, E: DENIED, OE: DENIED, A: DENIED, N: UNAUTHENTICATED},
    ),
    Case(
        "WithdrawApplication",
        "SUBMITTED",
        lambda s: service_pb2.WithdrawApplicationRequest(
            application_id=s.a.id, expected_version=s.a.version
        ),
        STUDENT_OWN,
    ),
    Case(
        "ShortlistApplication",
        "SUBMITTED",
        lambda s: service_pb2.ShortlistApplicationRequest(
            application_id=s.a.id, expected_version=s.a.version
        ),
        EMPLOYER_OWN,
    ),
    Case(
        "RejectApplication",
        "SUBMITTED",
        lambda s: service_pb2.RejectApplicationRequest(
            application_id=s.a.id, expected_version=s.a.version, reason="no"
        ),
        EMPLOYER_OWN,
    ),
    Case(
        "ExtendOffer",
        "SHORTLISTED",
        lambda s: service_pb2.ExtendOfferRequest(
            application_id=s.a.id, expected_version=s.a.version
        ),
        EMPLOYER_OWN,
    ),
    Case(
        "AcceptOffer",
        "OFFERED",
        lambda s: service_pb2.AcceptOfferRequest(
            application_id=s.a.id, expected_version=s.a.version
        ),
        STUDENT_OWN,
    ),
    Case(
        "DeclineOffer",
        "OFFERED",
        lambda s: service_pb2.DeclineOfferRequest(
            application_id=s.a.id, expected_version=s.a.version
        ),
        STUDENT_OWN,
    ),
    Case(
        "GetApplication",
        "SUBMITTED",
        lambda s: service_pb2.GetApplicationRequest(application_id=s.a.id),
        PARTIES_AND_ADMIN,
    ),
    Case(
        "ListApplications",
        "SUBMITTED",
        lambda s: service_pb2.ListApplicationsRequest(listing_id=s.listing_id, page_size=10),
        EVERYONE_SIGNED_IN,
    ),
    Case(
        "SubmitDeliverable",
        "ACTIVE",
        lambda s: service_pb2.SubmitDeliverableRequest(
            engagement_id=s.e.id,
            expected_version=s.e.version,
            note="done",
            checklist=checklist_for(s.e),
        ),
        STUDENT_OWN,
    ),
    Case(
        "RequestRevision",
        "HANDED_IN",
        lambda s: service_pb2.RequestRevisionRequest(
            engagement_id=s.e.id, expected_version=s.e.version, reason="more"
        ),
        EMPLOYER_OWN,
    ),
    Case(
        "ApproveDeliverable",
        "HANDED_IN",
        lambda s: service_pb2.ApproveDeliverableRequest(
            engagement_id=s.e.id, expected_version=s.e.version
        ),
        EMPLOYER_OWN,
    ),
    Case(
        "CancelEngagement",
        "ACTIVE",
        lambda s: service_pb2.CancelEngagementRequest(
            engagement_id=s.e.id, expected_version=s.e.version, reason="stop"
        ),
        EMPLOYER_OWN,
    ),
    Case(
        # Revisions used up, so either side may take it to a dispute.
        "OpenDispute",
        "REVISIONS_USED",
        lambda s: service_pb2.OpenDisputeRequest(
            engagement_id=s.e.id, expected_version=s.e.version, reason="stuck"
        ),
        {S: OK, OS: NOT_FOUND, E: OK, OE: NOT_FOUND, A: DENIED, N: UNAUTHENTICATED},
    ),
    Case(
        "ResolveDispute",
        "DISPUTED",
        lambda s: service_pb2.ResolveDisputeRequest(
            engagement_id=s.e.id, expected_version=s.e.version, payout_percent=50, resolution="ok"
        ),
        {S: DENIED, OS: DENIED, E: DENIED, OE: DENIED, A: OK, N: UNAUTHENTICATED},
    ),
    Case(
        "GetEngagement",
        "ACTIVE",
        lambda s: service_pb2.GetEngagementRequest(engagement_id=s.e.id),
        PARTIES_AND_ADMIN,
    ),
    Case(
        "ListEngagements",
        "ACTIVE",
        lambda s: service_pb2.ListEngagementsRequest(listing_id=s.listing_id, page_size=10),
        EVERYONE_SIGNED_IN,
    ),
    Case(
        "LeaveFeedback",
        "APPROVED",
        lambda s: service_pb2.LeaveFeedbackRequest(engagement_id=s.e.id, rating=4),
        {S: OK, OS: NOT_FOUND, E: OK, OE: NOT_FOUND, A: DENIED, N: UNAUTHENTICATED},
    ),
    Case(
        "GetCompletionRecord",
        "PAID",
        lambda s: service_pb2.GetCompletionRecordRequest(engagement_id=s.e.id),
        PARTIES_AND_ADMIN,
    ),
    # Public: a university verifies without an account.
    Case(
        "ListSigningKeys",
        "LISTING",
        lambda s: service_pb2.ListSigningKeysRequest(),
        dict.fromkeys(Caller, OK),
    ),
    Case(
        "VerifyCompletionRecord",
        "LISTING",
        lambda s: service_pb2.VerifyCompletionRecordRequest(
            record=resources_pb2.CompletionRecord(id="cr-unknown")
        ),
        dict.fromkeys(Caller, OK),
    ),
    Case(
        "PostMessage",
        "SUBMITTED",
        lambda s: service_pb2.PostMessageRequest(application_id=s.a.id, text="Any questions?"),
        {S: OK, OS: NOT_FOUND, E: OK, OE: NOT_FOUND, A: DENIED, N: UNAUTHENTICATED},
    ),
    Case(
        "ListMessages",
        "SUBMITTED",
        lambda s: service_pb2.ListMessagesRequest(application_id=s.a.id),
        PARTIES_AND_ADMIN,
    ),
    Case(
        # Employers the student applied to read the profile; other employers do not.
        "GetStudentProfile",
        "SUBMITTED",
        lambda s: service_pb2.GetStudentProfileRequest(student_id=s.student.subject),
        {S: OK, OS: NOT_FOUND, E: OK, OE: NOT_FOUND, A: OK, N: UNAUTHENTICATED},
    ),
    Case(
        "InviteStudent",
        "INVITABLE",
        lambda s: service_pb2.InviteStudentRequest(
            listing_id=s.listing_id, student_id=s.student.subject
        ),
        {S: DENIED, OS: DENIED, E: OK, OE: NOT_FOUND, A: DENIED, N: UNAUTHENTICATED},
    ),
]


async def scene(state: str, client: ApplicationsClient, feed: EventFeed) -> Scene:
    if state == "INVITABLE":
        # A student whose work the org approved, and another open listing of the org.
        done = await scene("APPROVED", client, feed)
        return Scene(done.student, (await feed.published()).id)
    listing = await feed.published()
    here = Scene(new_student(), listing.id)
    if state == "LISTING":
        return here
    here.application = await client.apply(listing.id, here.student)
    if state == "SUBMITTED":
        return here
    here.application = await client.shortlist(here.a)
    if state == "SHORTLISTED":
        return here
    here.application = await client.offer(here.a)
    if state == "OFFERED":
        return here
    here.engagement = (await client.accept(here.a, here.student)).engagement
    if state == "ACTIVE":
        return here
    here.engagement = await client.submit(here.e, here.student)
    if state == "HANDED_IN":
        return here
    if state in {"REVISIONS_USED", "DISPUTED"}:
        for _ in range(2):
            here.engagement = await client.submit(await client.revise(here.e), here.student)
        if state == "DISPUTED":
            here.engagement = await client.dispute(here.e, here.student)
        return here
    here.engagement = await client.approve(here.e)
    if state == "APPROVED":
        return here
    await feed.payout_paid(here.e)
    here.engagement = await client.wait_engagement(here.e.id, EngStatus.ENGAGEMENT_STATUS_PAID)
    assert state == "PAID", state
    return here


def test_the_matrix_covers_every_rpc_and_every_caller() -> None:
    methods = service_pb2.DESCRIPTOR.services_by_name["ApplicationsService"].methods
    assert sorted(case.method for case in MATRIX) == sorted(m.name for m in methods)
    for case in MATRIX:
        assert set(case.expected) == set(Caller), case.method


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.method)
async def test_who_may_call(case: Case, client: ApplicationsClient, feed: EventFeed) -> None:
    mutating = case.method in MUTATING
    shared = await scene(case.state, client, feed)
    got: dict[Caller, Code] = {}
    for caller, expected in case.expected.items():
        here = shared
        if expected is OK and mutating:
            here = await scene(case.state, client, feed)
        got[caller] = await client.code_of(case.method, case.request(here), here.who(caller))
    assert got == case.expected, case.method


async def test_lists_show_a_caller_only_what_it_is_party_to(
    client: ApplicationsClient, feed: EventFeed
) -> None:
    here = await scene("ACTIVE", client, feed)
    for method, request, field in (
        ("ListApplications", service_pb2.ListApplicationsRequest, "applications"),
        ("ListEngagements", service_pb2.ListEngagementsRequest, "engagements"),
    ):
        for caller, count in ((S, 1), (E, 1), (A, 1), (OS, 0), (OE, 0)):
            query = request(listing_id=here.listing_id, page_size=10)
            response = await client.call(method, query, here.who(caller))
            assert len(getattr(response, field)) == count, f"{method} as {caller.value}"
