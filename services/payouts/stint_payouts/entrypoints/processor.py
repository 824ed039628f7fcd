"""Makes the payouts' provider calls in the background, never inside a transaction.

Woken after every commit (a payout may have become due) and at least every poll interval (a
previous process may have died mid-call, leaving PROCESSING attempts to resume); runs a
requested reconciliation. Attempts of different payouts run concurrently, one per payout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from opentelemetry import trace
from stint_runtime.messaging.envelope import context_from_carrier
from stint_runtime.persistence.unit_of_work import UnitOfWork

from stint_payouts.bootstrap import PayoutsApp

log = logging.getLogger("stint.payouts.processor")
tracer = trace.get_tracer("stint.payouts")


class PayoutProcessor:
    def __init__(self, app: PayoutsApp, poll_seconds: float, concurrency: int) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self, uow: UnitOfWork | None = None) -> None:
        """Thread-safe: look for due payouts now (a commit listener)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.uow_factory.add_commit_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name="payout-processor")

    async def stop(self) -> None:
        """Finish the calls in flight (their outcomes are committed), then stop."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                due = await asyncio.to_thread(self.app.due_payouts)
                for payout_id in due:
                    if payout_id not in self._in_flight:
                        self._in_flight[payout_id] = asyncio.create_task(self._attempt(payout_id))
                await asyncio.to_thread(self.app.reconcile_if_requested)
            except Exception:
                log.exception("payout processing pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _attempt(self, payout_id: str) -> None:
        try:
            async with self._slots:
                if not self._stopping.is_set():
                    carrier = await asyncio.to_thread(self.app.trace_of, payout_id)
                    # Continues the trace that made the payout due (e.g. the approval's); the
                    # thread gets this context, so the provider call and PayoutPaid are in it.
                    with tracer.start_as_current_span(
                        "payout process",
                        context=context_from_carrier(carrier),
                        attributes={"stint.payout.id": payout_id},
                    ):
                        await asyncio.to_thread(self.app.process, payout_id)
        except Exception as exc:
            log.warning(
                "payout attempt failed; retried on the next pass",
                extra={"payout_id": payout_id, "error": type(exc).__name__},
            )
        finally:
            self._in_flight.pop(payout_id, None)
            self.wake()
