"""Bad input is INVALID_ARGUMENT naming the field, never INTERNAL."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from google.protobuf.message import Message
from stint.common.v1 import money_pb2
from stint.notifications.v1 import resources_pb2 as r
from stint.notifications.v1 import service_pb2 as s

from tests.notifications.kit import NotificationsClient, Who, new_employer, new_student

pytestmark = pytest.mark.integration

CASES: list[tuple[str, str, Callable[[Who], Message]]] = [
    (
        "RegisterContact",
        "email",
        lambda w: s.RegisterContactRequest(user_id=w.subject, email="not-an-address"),
    ),
    (
        "SetPreferences",
        "categories[0].category",
        lambda w: s.SetPreferencesRequest(
            user_id=w.subject, categories=[r.CategoryChannels(channels=[r.CHANNEL_EMAIL])]
        ),
    ),
    (
        "SetPreferences",
        "channels",
        lambda w: s.SetPreferencesRequest(user_id=w.subject, channels=[r.CHANNEL_UNSPECIFIED]),
    ),
    (
        "SubscribeSkills",
        "min_fee.currency",
        lambda w: s.SubscribeSkillsRequest(
            user_id=w.subject,
            skills=["go"],
            min_fee=money_pb2.Money(amount_minor=1, currency="euro"),
        ),
    ),
    (
        "SubscribeSkills",
        "min_fee.amount_minor",
        lambda w: s.SubscribeSkillsRequest(
            user_id=w.subject,
            skills=["go"],
            min_fee=money_pb2.Money(amount_minor=-1, currency="EUR"),
        ),
    ),
    (
        "RegisterWebhook",
        "url",
        lambda w: s.RegisterWebhookRequest(owner_id=w.subject, url="ftp://example.org/x"),
    ),
    (
        "RegisterWebhook",
        "url",
        lambda w: s.RegisterWebhookRequest(owner_id=w.subject, url="http://no-such-host.invalid/x"),
    ),
    (
        "MarkRead",
        "notification_ids",
        lambda w: s.MarkReadRequest(user_id=w.subject),
    ),
]


@pytest.mark.parametrize(("method", "field", "request_for"), CASES)
async def test_bad_input_names_the_field(
    client: NotificationsClient, method: str, field: str, request_for: Callable[[Who], Message]
) -> None:
    who = new_student()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.call(method, request_for(who), who)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (caught.value.details() or "")


async def test_an_employers_contact_belongs_to_its_org(client: NotificationsClient) -> None:
    employer = new_employer("org-contact")
    contact = await client.register(employer, name="  Grace  ")
    assert contact.org_id == "org-contact"
    assert contact.role == "employer"
    assert contact.display_name == "Grace"
    student = await client.register(new_student())
    assert student.org_id == ""
