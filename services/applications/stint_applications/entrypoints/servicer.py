"""The ApplicationsService gRPC API: requests become commands, handlers run off the event loop.

Authentication, the declared policy, protovalidate and idempotency keys are the runtime's call
pipeline; domain errors raised by the handlers propagate and it maps them to status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from stint.applications.v1 import service_pb2, service_pb2_grpc
from stint_runtime.grpc.auth import current_principal

from stint_applications.adapters import contracts
from stint_applications.bootstrap import ApplicationsApp
from stint_applications.domain import commands as c
from stint_applications.domain.application import Application, ScreeningAnswer
from stint_applications.domain.engagement import CriterionCheck, Engagement
from stint_applications.domain.messages import Message
from stint_applications.domain.queries import ListOrder, Page
from stint_applications.service_layer import handlers
from stint_applications.service_layer.handlers import Accepted, Context
from stint_applications.service_layer.ports import Store

C = TypeVar("C")
R = TypeVar("R")
ORDER_FROM_PROTO = {
    service_pb2.LIST_ORDER_UNSPECIFIED: ListOrder.NEWEST,
    service_pb2.LIST_ORDER_NEWEST: ListOrder.NEWEST,
    service_pb2.LIST_ORDER_DEADLINE_SOONEST: ListOrder.DEADLINE_SOONEST,
}


def caller() -> c.Actor:
    """The authenticated principal of the current call as the domain's Actor."""
    return current_principal()


def engagement_for(actor: c.Actor, engagement: Engagement) -> Any:
    """The engagement as the caller may see it (its own side's unpublished feedback only)."""
    return contracts.engagement_message(engagement, handlers.viewer_of(actor, engagement))


class ApplicationsServicer(service_pb2_grpc.ApplicationsServiceServicer):
    """One method per RPC; each runs its handler in a unit of work on a worker thread."""

    def __init__(self, app: ApplicationsApp) -> None:
        self.app = app

    async def _run(self, handler: Callable[[C, Store, Context], R], message: C) -> R:
        # The database driver blocks: keep the event loop free for other calls.
        return await asyncio.to_thread(self.app.run, handler, message)

    async def _application(
        self, handler: Callable[[C, Store, Context], Application], message: C
    ) -> Any:
        application = await self._run(handler, message)
        actor = caller()
        return (await self._described(actor, [application]))[0]

    async def _described(self, actor: c.Actor, applications: list[Application]) -> list[Any]:
        """The applications as messages, with the other side's record beside each: a student's
        summary for employers and admins, the organisation's record for students and admins."""
        messages = [contracts.application_message(a) for a in applications]
        if not applications:
            return messages
        query = c.Reputations(
            actor,
            frozenset(a.student_id for a in applications),
            frozenset(a.employer_org_id for a in applications),
        )
        records: handlers.Records = await self._run(handlers.reputations, query)
        for application, message in zip(applications, messages, strict=True):
            summary = records.students.get(application.student_id)
            if summary is not None:
                message.student_summary.CopyFrom(contracts.summary_message(summary))
            record = records.employers.get(application.employer_org_id)
            if record is not None:
                message.employer_record.CopyFrom(contracts.employer_record_message(record))
        return messages

    async def _engagement(
        self, handler: Callable[[C, Store, Context], Engagement], message: C, actor: c.Actor
    ) -> Any:
        return engagement_for(actor, await self._run(handler, message))

    # ---- applications ----------------------------------------------------------------------

    async def Apply(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ApplyRequest, context: Any
    ) -> service_pb2.ApplyResponse:
        command = c.Apply(
            actor=caller(),
            listing_id=request.listing_id,
            cover_letter=request.cover_letter,
            answers=tuple(ScreeningAnswer(a.question_id, a.answer) for a in request.answers),
        )
        return service_pb2.ApplyResponse(
            application=await self._application(handlers.apply, command)
        )

    async def WithdrawApplication(  # noqa: N802 - gRPC method name
        self, request: service_pb2.WithdrawApplicationRequest, context: Any
    ) -> service_pb2.WithdrawApplicationResponse:
        command = c.WithdrawApplication(
            caller(), request.application_id, request.expected_version, request.reason
        )
        return service_pb2.WithdrawApplicationResponse(
            application=await self._application(handlers.withdraw_application, command)
        )

    async def ShortlistApplication(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ShortlistApplicationRequest, context: Any
    ) -> service_pb2.ShortlistApplicationResponse:
        command = c.ShortlistApplication(caller(), request.application_id, request.expected_version)
        return service_pb2.ShortlistApplicationResponse(
            application=await self._application(handlers.shortlist_application, command)
        )

    async def RejectApplication(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RejectApplicationRequest, context: Any
    ) -> service_pb2.RejectApplicationResponse:
        command = c.RejectApplication(
            caller(), request.application_id, request.expected_version, request.reason
        )
        return service_pb2.RejectApplicationResponse(
            application=await self._application(handlers.reject_application, command)
        )

    async def ExtendOffer(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ExtendOfferRequest, context: Any
    ) -> service_pb2.ExtendOfferResponse:
        command = c.ExtendOffer(
            caller(), request.application_id, request.expected_version, request.message
        )
        return service_pb2.ExtendOfferResponse(
            application=await self._application(handlers.extend_offer, command)
        )

    async def AcceptOffer(  # noqa: N802 - gRPC method name
        self, request: service_pb2.AcceptOfferRequest, context: Any
    ) -> service_pb2.AcceptOfferResponse:
        actor = caller()
        command = c.AcceptOffer(actor, request.application_id, request.expected_version)
        accepted: Accepted = await self._run(handlers.accept_offer, command)
        return service_pb2.AcceptOfferResponse(
            application=(await self._described(actor, [accepted.application]))[0],
            engagement=engagement_for(actor, accepted.engagement),
        )

    async def DeclineOffer(  # noqa: N802 - gRPC method name
        self, request: service_pb2.DeclineOfferRequest, context: Any
    ) -> service_pb2.DeclineOfferResponse:
        command = c.DeclineOffer(
            caller(), request.application_id, request.expected_version, request.reason
        )
        return service_pb2.DeclineOfferResponse(
            application=await self._application(handlers.decline_offer, command)
        )

    async def GetApplication(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetApplicationRequest, context: Any
    ) -> service_pb2.GetApplicationResponse:
        query = c.GetApplication(caller(), request.application_id)
        return service_pb2.GetApplicationResponse(
            application=await self._application(handlers.get_application, query)
        )

    async def ListApplications(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListApplicationsRequest, context: Any
    ) -> service_pb2.ListApplicationsResponse:
        query = c.ListApplications(
            actor=caller(),
            listing_id=request.listing_id,
            student_id=request.student_id,
            statuses=frozenset(
                contracts.APPLICATION_STATUS_FROM_PROTO[s] for s in request.statuses
            ),
            page_size=request.page_size,
            page_token=request.page_token,
            order=ORDER_FROM_PROTO[request.order],
            needs_my_action=request.needs_my_action,
        )
        page: Page[Application] = await self._run(handlers.list_applications, query)
        return service_pb2.ListApplicationsResponse(
            applications=await self._described(query.actor, page.items),
            next_page_token=page.next_page_token,
        )

    # ---- engagements -----------------------------------------------------------------------

    async def SubmitDeliverable(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SubmitDeliverableRequest, context: Any
    ) -> service_pb2.SubmitDeliverableResponse:
        actor = caller()
        command = c.SubmitDeliverable(
            actor,
            request.engagement_id,
            request.expected_version,
            request.note,
            tuple(request.links),
            tuple(CriterionCheck(k.criterion, k.met, k.comment) for k in request.checklist),
        )
        return service_pb2.SubmitDeliverableResponse(
            engagement=await self._engagement(handlers.submit_deliverable, command, actor)
        )

    async def RequestRevision(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RequestRevisionRequest, context: Any
    ) -> service_pb2.RequestRevisionResponse:
        actor = caller()
        command = c.RequestRevision(
            actor, request.engagement_id, request.expected_version, request.reason
        )
        return service_pb2.RequestRevisionResponse(
            engagement=await self._engagement(handlers.request_revision, command, actor)
        )

    async def ApproveDeliverable(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ApproveDeliverableRequest, context: Any
    ) -> service_pb2.ApproveDeliverableResponse:
        actor = caller()
        command = c.ApproveDeliverable(actor, request.engagement_id, request.expected_version)
        return service_pb2.ApproveDeliverableResponse(
            engagement=await self._engagement(handlers.approve_deliverable, command, actor)
        )

    async def CancelEngagement(  # noqa: N802 - gRPC method name
        self, request: service_pb2.CancelEngagementRequest, context: Any
    ) -> service_pb2.CancelEngagementResponse:
        actor = caller()
        command = c.CancelEngagement(
            actor, request.engagement_id, request.expected_version, request.reason
        )
        return service_pb2.CancelEngagementResponse(
            engagement=await self._engagement(handlers.cancel_engagement, command, actor)
        )

    async def OpenDispute(  # noqa: N802 - gRPC method name
        self, request: service_pb2.OpenDisputeRequest, context: Any
    ) -> service_pb2.OpenDisputeResponse:
        actor = caller()
        command = c.OpenDispute(
            actor, request.engagement_id, request.expected_version, request.reason
        )
        return service_pb2.OpenDisputeResponse(
            engagement=await self._engagement(handlers.open_dispute, command, actor)
        )

    async def ResolveDispute(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ResolveDisputeRequest, context: Any
    ) -> service_pb2.ResolveDisputeResponse:
        actor = caller()
        command = c.ResolveDispute(
            actor,
            request.engagement_id,
            request.expected_version,
            request.payout_percent,
            request.resolution,
        )
        return service_pb2.ResolveDisputeResponse(
            engagement=await self._engagement(handlers.resolve_dispute, command, actor)
        )

    async def GetEngagement(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetEngagementRequest, context: Any
    ) -> service_pb2.GetEngagementResponse:
        actor = caller()
        query = c.GetEngagement(actor, request.engagement_id)
        return service_pb2.GetEngagementResponse(
            engagement=await self._engagement(handlers.get_engagement, query, actor)
        )

    async def ListEngagements(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListEngagementsRequest, context: Any
    ) -> service_pb2.ListEngagementsResponse:
        actor = caller()
        query = c.ListEngagements(
            actor=actor,
            listing_id=request.listing_id,
            student_id=request.student_id,
            statuses=frozenset(contracts.ENGAGEMENT_STATUS_FROM_PROTO[s] for s in request.statuses),
            page_size=request.page_size,
            page_token=request.page_token,
            order=ORDER_FROM_PROTO[request.order],
            needs_my_action=request.needs_my_action,
        )
        page: Page[Engagement] = await self._run(handlers.list_engagements, query)
        return service_pb2.ListEngagementsResponse(
            engagements=[engagement_for(actor, e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    async def LeaveFeedback(  # noqa: N802 - gRPC method name
        self, request: service_pb2.LeaveFeedbackRequest, context: Any
    ) -> service_pb2.LeaveFeedbackResponse:
        actor = caller()
        command = c.LeaveFeedback(
            actor, request.engagement_id, request.rating, request.text, request.expected_version
        )
        return service_pb2.LeaveFeedbackResponse(
            engagement=await self._engagement(handlers.leave_feedback, command, actor)
        )

    async def GetCompletionRecord(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetCompletionRecordRequest, context: Any
    ) -> service_pb2.GetCompletionRecordResponse:
        query = c.GetCompletionRecord(caller(), request.engagement_id, request.record_id)
        record = await asyncio.to_thread(self.app.completion_record, query)
        return service_pb2.GetCompletionRecordResponse(record=record)

    async def ListSigningKeys(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListSigningKeysRequest, context: Any
    ) -> service_pb2.ListSigningKeysResponse:
        return service_pb2.ListSigningKeysResponse(keys=self.app.keys.listed())

    async def VerifyCompletionRecord(  # noqa: N802 - gRPC method name
        self, request: service_pb2.VerifyCompletionRecordRequest, context: Any
    ) -> service_pb2.VerifyCompletionRecordResponse:
        reason = self.app.keys.check(request.record)
        if reason:
            return service_pb2.VerifyCompletionRecordResponse(valid=False, reason=reason)
        return service_pb2.VerifyCompletionRecordResponse(valid=True, claim=request.record.claim)

    async def PostMessage(  # noqa: N802 - gRPC method name
        self, request: service_pb2.PostMessageRequest, context: Any
    ) -> service_pb2.PostMessageResponse:
        command = c.PostMessage(
            caller(),
            request.text,
            application_id=request.application_id,
            engagement_id=request.engagement_id,
            links=tuple(request.links),
        )
        message: Message = await self._run(handlers.post_message, command)
        return service_pb2.PostMessageResponse(message=contracts.message_message(message))

    async def ListMessages(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListMessagesRequest, context: Any
    ) -> service_pb2.ListMessagesResponse:
        query = c.ListMessages(
            caller(),
            application_id=request.application_id,
            engagement_id=request.engagement_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        page: Page[Message] = await self._run(handlers.list_messages, query)
        return service_pb2.ListMessagesResponse(
            messages=[contracts.message_message(m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetStudentProfile(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetStudentProfileRequest, context: Any
    ) -> service_pb2.GetStudentProfileResponse:
        query = c.GetStudentProfile(caller(), request.student_id)
        profile = await self._run(handlers.get_student_profile, query)
        return service_pb2.GetStudentProfileResponse(profile=contracts.profile_message(profile))

    async def InviteStudent(  # noqa: N802 - gRPC method name
        self, request: service_pb2.InviteStudentRequest, context: Any
    ) -> service_pb2.InviteStudentResponse:
        command = c.InviteStudent(caller(), request.listing_id, request.student_id)
        invitation = await self._run(handlers.invite_student, command)
        return service_pb2.InviteStudentResponse(
            invitation=contracts.invitation_message(invitation)
        )
