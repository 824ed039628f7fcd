"""Who may call each NotificationsService RPC; ownership is checked by the handlers.

Every RPC needs a signed-in caller. Contacts, preferences, skill alerts and inboxes belong to
their own user: anyone else, admins included, is refused (PERMISSION_DENIED) — an admin does not
read other people's inboxes or addresses. A webhook belongs to its caller, to an employer's org,
or is set up by an admin for an integrator. Skill alerts are for students.
"""

from __future__ import annotations

from stint.notifications.v1 import service_pb2
from stint_runtime.grpc.policy import ServicePolicy, rule

NOTIFICATIONS_SERVICE = service_pb2.DESCRIPTOR.services_by_name["NotificationsService"]

NOTIFICATIONS_POLICY = ServicePolicy(
    service=NOTIFICATIONS_SERVICE.full_name,
    rules={
        "RegisterContact": rule("student", "employer", "admin", mutating=True),
        "SetPreferences": rule("student", "employer", "admin", mutating=True),
        "SubscribeSkills": rule("student", mutating=True),
        "RegisterWebhook": rule("student", "employer", "admin", mutating=True),
        "ListNotifications": rule("student", "employer", "admin", mutating=False),
        "MarkRead": rule("student", "employer", "admin", mutating=True),
    },
)
