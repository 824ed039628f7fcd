"""The PayoutsService gRPC API: requests become commands, handlers run off the event loop.

Authentication, the declared policy, protovalidate and idempotency keys are the runtime's call
pipeline; domain errors raised by the handlers propagate and it maps them to status codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from stint.payouts.v1 import service_pb2, service_pb2_grpc
from stint_runtime.errors import PermissionDenied
from stint_runtime.grpc.auth import current_principal
from stint_runtime.values import Actor

from stint_payouts.adapters import contracts
from stint_payouts.bootstrap import PayoutsApp
from stint_payouts.domain import commands as c
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.handlers import Context
from stint_payouts.service_layer.ports import Store

C = TypeVar("C")
R = TypeVar("R")


def caller() -> Actor:
    return current_principal()


class PayoutsServicer(service_pb2_grpc.PayoutsServiceServicer):
    def __init__(self, app: PayoutsApp) -> None:
        self.app = app

    async def _run(self, handler: Callable[[C, Store, Context], R], message: C) -> R:
        return await asyncio.to_thread(self.app.run, handler, message)

    async def RegisterPayoutAccount(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RegisterPayoutAccountRequest, context: Any
    ) -> service_pb2.RegisterPayoutAccountResponse:
        command = c.RegisterPayoutAccount(
            actor=caller(),
            method=contracts.METHOD_FROM_PROTO[request.method],
            destination=request.destination_token,
            country=request.country,
            currency=request.currency,
            tax_form_status=contracts.TAX_FROM_PROTO[request.tax_form_status],
        )
        account = await self._run(handlers.register_account, command)
        return service_pb2.RegisterPayoutAccountResponse(account=contracts.account_message(account))

    async def GetPayout(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetPayoutRequest, context: Any
    ) -> service_pb2.GetPayoutResponse:
        payout = await self._run(handlers.get_payout, c.GetPayout(caller(), request.payout_id))
        return service_pb2.GetPayoutResponse(payout=contracts.payout_message(payout))

    async def ListPayouts(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ListPayoutsRequest, context: Any
    ) -> service_pb2.ListPayoutsResponse:
        query = c.ListPayouts(
            actor=caller(),
            student_id=request.student_id,
            employer_org_id=request.employer_org_id,
            engagement_id=request.engagement_id,
            statuses=frozenset(contracts.STATUS_FROM_PROTO[s] for s in request.statuses),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        page = await self._run(handlers.list_payouts, query)
        return service_pb2.ListPayoutsResponse(
            payouts=[contracts.payout_message(p) for p in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetBalance(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetBalanceRequest, context: Any
    ) -> service_pb2.GetBalanceResponse:
        balances = await self._run(handlers.get_balance, c.GetBalance(caller(), request.student_id))
        return service_pb2.GetBalanceResponse(
            balances=[contracts.balance_message(b) for b in balances]
        )

    async def RetryPayout(  # noqa: N802 - gRPC method name
        self, request: service_pb2.RetryPayoutRequest, context: Any
    ) -> service_pb2.RetryPayoutResponse:
        command = c.RetryPayout(caller(), request.payout_id, request.expected_version)
        payout = await self._run(handlers.retry_payout, command)
        return service_pb2.RetryPayoutResponse(payout=contracts.payout_message(payout))

    async def GetLedger(  # noqa: N802 - gRPC method name
        self, request: service_pb2.GetLedgerRequest, context: Any
    ) -> service_pb2.GetLedgerResponse:
        query = c.GetLedger(
            actor=caller(),
            engagement_id=request.engagement_id,
            payout_id=request.payout_id,
            account=contracts.ACCOUNT_FROM_PROTO.get(request.account),
            account_owner_id=request.account_owner_id,
            employer_org_id=request.employer_org_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        page = await self._run(handlers.get_ledger, query)
        return service_pb2.GetLedgerResponse(
            entries=[contracts.entry_message(e) for e in page.items],
            next_page_token=page.next_page_token,
        )

    async def Reconcile(  # noqa: N802 - gRPC method name
        self, request: service_pb2.ReconcileRequest, context: Any
    ) -> service_pb2.ReconcileResponse:
        if not caller().is_admin:
            raise PermissionDenied("only an admin reconciles")
        report = await asyncio.to_thread(self.app.reconcile)
        return service_pb2.ReconcileResponse(report=contracts.report_message(report))
