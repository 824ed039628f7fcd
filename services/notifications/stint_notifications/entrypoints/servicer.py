"""The NotificationsService gRPC API: requests become commands, handlers run off the event loop.

Authentication, the declared policy, protovalidate and idempotency keys are the runtime's call
pipeline; domain errors raised by the handlers propagate and it maps them to status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from stint.notifications.v1 import service_pb2, service_pb2_grpc
from stint_runtime.errors import InvalidArgument
from stint_runtime.grpc.auth import current_principal
from stint_runtime.proto_values import money_from

from stint_notifications.adapters import contracts
from stint_notifications.adapters.repository import MongoStore
from stint_notifications.bootstrap import NotificationsApp
from stint_notifications.domain import commands as c
from stint_notifications.domain.channels import SkillAlertFrequency
from stint_notifications.service_layer import handlers
from stint_notifications.service_layer.handlers import Context

C = TypeVar("C")
R = TypeVar("R")


class NotificationsServicer(service_pb2_grpc.NotificationsServiceServicer):
    def __init__(self, app: NotificationsApp) -> None:
        self.app = app

    async def _run(self, handler: Callable[[C, MongoStore, Context], R], message: C) -> R:
        return await asyncio.to_thread(self.app.run, handler, message)

    async def RegisterContact(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RegisterContactRequest, context: Any
    ) -> service_pb2.RegisterContactResponse:
        command = c.RegisterContact(
            current_principal(), request.user_id, request.email, request.display_name
        )
        contact = await self._run(handlers.register_contact, command)
        return service_pb2.RegisterContactResponse(contact=contracts.contact_message(contact))

    async def SetPreferences(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SetPreferencesRequest, context: Any
    ) -> service_pb2.SetPreferencesResponse:
        categories = {}
        for index, entry in enumerate(request.categories):
            category = contracts.CATEGORIES_BACK.get(entry.category)
            if category is None:
                raise InvalidArgument(f"categories[{index}].category", "must be a defined category")
            categories[category] = contracts.channels_of(entry.channels)
        command = c.SetPreferences(
            current_principal(),
            request.user_id,
            channels=contracts.channels_of(request.channels),
            muted_event_types=frozenset(request.muted_event_types),
            categories=categories,
            skill_alerts=contracts.FREQUENCIES_BACK.get(
                request.skill_alerts, SkillAlertFrequency.IMMEDIATE
            ),
            email_unsubscribed=request.email_unsubscribed,
        )
        prefs = await self._run(handlers.set_preferences, command)
        return service_pb2.SetPreferencesResponse(preferences=contracts.preferences_message(prefs))

    async def SubscribeSkills(  # noqa: N802 - gRPC method name
        self, request: service_pb2.SubscribeSkillsRequest, context: Any
    ) -> service_pb2.SubscribeSkillsResponse:
        min_fee = None
        if request.HasField("min_fee"):
            if len(request.min_fee.currency) != 3 or not request.min_fee.currency.isupper():
                raise InvalidArgument("min_fee.currency", "must be an ISO 4217 code")
            min_fee = money_from(request.min_fee)
        command = c.SubscribeSkills(
            current_principal(),
            request.user_id,
            tuple(request.skills),
            request.industry,
            request.remote_only,
            min_fee,
        )
        sub = await self._run(handlers.subscribe_skills, command)
        return service_pb2.SubscribeSkillsResponse(subscription=contracts.subscription_message(sub))

    async def RegisterWebhook(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RegisterWebhookRequest, context: Any
    ) -> service_pb2.RegisterWebhookResponse:
        command = c.RegisterWebhook(
            current_principal(),
            request.owner_id,
            request.url,
            request.secret,
            frozenset(request.event_types),
        )
        hook, secret = await self._run(handlers.register_webhook, command)
        return service_pb2.RegisterWebhookResponse(
            webhook=contracts.webhook_message(hook), secret=secret
        )

    async def ListNotifications(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListNotificationsRequest, context: Any
    ) -> service_pb2.ListNotificationsResponse:
        query = c.ListNotifications(
            current_principal(),
            request.user_id,
            request.unread_only,
            request.page_size,
            request.page_token,
        )
        page = await self._run(handlers.list_notifications, query)
        return service_pb2.ListNotificationsResponse(
            notifications=[contracts.notification_message(i, t) for i, t in page.items],
            next_page_token=page.next_page_token,
            unread_count=page.unread_count,
        )

    async def MarkRead(  # noqa: N802 - gRPC method name
        self, request: service_pb2.MarkReadRequest, context: Any
    ) -> service_pb2.MarkReadResponse:
        command = c.MarkRead(current_principal(), request.user_id, tuple(request.notification_ids))
        page = await self._run(handlers.mark_read, command)
        return service_pb2.MarkReadResponse(
            notifications=[contracts.notification_message(i, t) for i, t in page.items],
            unread_count=page.unread_count,
        )
