"""Every RPC x anonymous / other user / other org / admin, and the owner itself.

Completeness: the matrix must name every method of NotificationsService, so a new RPC without
a row fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.message import Message
from stint.notifications.v1 import service_pb2 as s
from stint_notifications.entrypoints.policy import NOTIFICATIONS_SERVICE

from tests.notifications.kit import (
    NOBODY,
    NotificationsClient,
    Who,
    new_admin,
    new_employer,
    new_student,
)

pytestmark = pytest.mark.integration

OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTH = grpc.StatusCode.UNAUTHENTICATED
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@dataclass(frozen=True)
class Case:
    """A request on resources of `owner` (a student, or an employer of org-a for webhooks)."""

    owner: str  # "student" or "employer"
    request: Callable[[Who], Message]
    owner_code: grpc.StatusCode = OK
    admin_code: grpc.StatusCode = DENIED


CASES: dict[str, Case] = {
    "RegisterContact": Case(
        "student",
        lambda o: s.RegisterContactRequest(user_id=o.subject, email="x@example.org"),
    ),
    "SetPreferences": Case("student", lambda o: s.SetPreferencesRequest(user_id=o.subject)),
    "SubscribeSkills": Case(
        "student", lambda o: s.SubscribeSkillsRequest(user_id=o.subject, skills=["python"])
    ),
    "RegisterWebhook": Case(
        "employer",
        lambda o: s.RegisterWebhookRequest(owner_id=o.org or "", url="http://127.0.0.1:9/h"),
        admin_code=OK,
    ),
    "ListNotifications": Case("student", lambda o: s.ListNotificationsRequest(user_id=o.subject)),
    # The owner passes authorization; the id names no notification of theirs.
    "MarkRead": Case(
        "student",
        lambda o: s.MarkReadRequest(user_id=o.subject, notification_ids=["nope"]),
        owner_code=NOT_FOUND,
    ),
}


def test_the_matrix_names_every_rpc() -> None:
    assert set(CASES) == {m.name for m in NOTIFICATIONS_SERVICE.methods}


@pytest.mark.parametrize("method", sorted(CASES))
async def test_rpc_matrix(client: NotificationsClient, method: str) -> None:
    case = CASES[method]
    org = f"org-{method.lower()}"
    owner = new_student() if case.owner == "student" else new_employer(org)
    request = case.request(owner)
    callers = {
        "anonymous": (NOBODY, UNAUTH),
        "other user": (new_student(), DENIED),
        "other org": (new_employer("org-elsewhere"), DENIED),
        "admin": (new_admin(), case.admin_code),
        "owner": (owner, case.owner_code),
    }
    got = {name: await client.code_of(method, request, who) for name, (who, _) in callers.items()}
    assert got == {name: code for name, (_, code) in callers.items()}


async def test_a_colleague_in_the_same_org_may_register_the_orgs_webhook(
    client: NotificationsClient,
) -> None:
    colleague = new_employer("org-shared")
    response = await client.webhook(colleague, "org-shared", "http://127.0.0.1:9/h")
    assert response.webhook.owner_id == "org-shared"
