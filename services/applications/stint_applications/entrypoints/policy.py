"""Who may call each ApplicationsService RPC; ownership is checked by the handlers.

Applications, engagements and their threads are private to their parties. The role admits a
caller; the handlers then answer NOT_FOUND to a student or employer who is not a party
(existence never leaks) and PERMISSION_DENIED to a party acting outside its side.

GetCompletionRecord is readable by the engagement's student (who shares the record), its
employer and admins. A third party (a university) verifies a record the student hands over:
ListSigningKeys and VerifyCompletionRecord are public, and need nothing but the record.
"""

from __future__ import annotations

from stint.applications.v1 import service_pb2
from stint_runtime.grpc.policy import ServicePolicy, rule

APPLICATIONS_SERVICE = service_pb2.DESCRIPTOR.services_by_name["ApplicationsService"]

APPLICATIONS_POLICY = ServicePolicy(
    service=APPLICATIONS_SERVICE.full_name,
    rules={
        "Apply": rule("student", mutating=True),
        "WithdrawApplication": rule("student", mutating=True),
        "ShortlistApplication": rule("employer", mutating=True),
        "RejectApplication": rule("employer", mutating=True),
        "ExtendOffer": rule("employer", mutating=True),
        "AcceptOffer": rule("student", mutating=True),
        "DeclineOffer": rule("student", mutating=True),
        "GetApplication": rule("student", "employer", "admin", mutating=False),
        "ListApplications": rule("student", "employer", "admin", mutating=False),
        "SubmitDeliverable": rule("student", mutating=True),
        "RequestRevision": rule("employer", mutating=True),
        "ApproveDeliverable": rule("employer", mutating=True),
        "CancelEngagement": rule("employer", mutating=True),
        "OpenDispute": rule("student", "employer", mutating=True),
        "ResolveDispute": rule("admin", mutating=True),
        "GetEngagement": rule("student", "employer", "admin", mutating=False),
        "ListEngagements": rule("student", "employer", "admin", mutating=False),
        # Both sides rate each other; admins decide disputes, they do not review work.
        "LeaveFeedback": rule("student", "employer", mutating=True),
        "GetCompletionRecord": rule("student", "employer", "admin", mutating=False),
        "ListSigningKeys": rule("student", "employer", "admin", mutating=False, public=True),
        "VerifyCompletionRecord": rule("student", "employer", "admin", mutating=False, public=True),
        # The two parties write; admins read threads (disputes) but do not post.
        "PostMessage": rule("student", "employer", mutating=True),
        "ListMessages": rule("student", "employer", "admin", mutating=False),
        # The student, admins and employers the student applied to (checked by the handler).
        "GetStudentProfile": rule("student", "employer", "admin", mutating=False),
        "InviteStudent": rule("employer", mutating=True),
    },
)
