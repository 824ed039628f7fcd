"""Who may call each PayoutsService RPC; ownership is checked by the handlers.

Students register their own account and read their own payouts and balance; employers read the
payouts and ledger entries of their organisation's engagements; admins read everything, retry
failed payouts and reconcile. Nothing is public.
"""

from __future__ import annotations

from stint.payouts.v1 import service_pb2
from stint_runtime.grpc.policy import ServicePolicy, rule

PAYOUTS_SERVICE = service_pb2.DESCRIPTOR.services_by_name["PayoutsService"]

PAYOUTS_POLICY = ServicePolicy(
    service=PAYOUTS_SERVICE.full_name,
    rules={
        "RegisterPayoutAccount": rule("student", mutating=True),
        "GetPayout": rule("student", "employer", "admin", mutating=False),
        "ListPayouts": rule("student", "employer", "admin", mutating=False),
        "GetBalance": rule("student", "admin", mutating=False),
        "RetryPayout": rule("admin", mutating=True),
        "GetLedger": rule("employer", "admin", mutating=False),
        "Reconcile": rule("admin", mutating=True),
    },
)
