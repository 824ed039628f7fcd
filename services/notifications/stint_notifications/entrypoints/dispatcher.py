"""Sends due deliveries: claim (committed), send (no transaction open), record the outcome.

Due attempts are durable timers on the delivery documents, read against the injectable clock;
a bounded number of sends run at once. Stopping lets the sends in hand finish and record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from opentelemetry import trace
from stint_runtime.messaging.envelope import context_from_carrier

from stint_notifications.bootstrap import NotificationsApp
from stint_notifications.service_layer.delivery import Claim, Outcome

log = logging.getLogger("stint.notifications.dispatch")
tracer = trace.get_tracer("stint.notifications")


class Dispatcher:
    def __init__(self, app: NotificationsApp, poll_interval: float) -> None:
        self.app = app
        self.poll_interval = poll_interval
        self.sent = 0
        self._slots = asyncio.Semaphore(app.settings.delivery_concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._claimed: set[str] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="notifications-dispatcher")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def wake(self) -> None:
        """Look for due deliveries now (e.g. after the clock moved)."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            started = 0
            try:
                started = await self._pass()
            except Exception:
                log.exception("dispatch pass failed")
            if started:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _pass(self) -> int:
        due = await asyncio.to_thread(self.app.due, self.app.settings.dispatch_batch)
        fresh = [d for d in due if d not in self._claimed]
        for delivery_id in fresh:
            if self._stopping.is_set():
                break
            await self._slots.acquire()
            self._claimed.add(delivery_id)
            task = asyncio.create_task(self._deliver(delivery_id))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        if fresh and self._in_flight:
            # Let this pass's sends settle before reading the due list again.
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        return len(fresh)

    async def _deliver(self, delivery_id: str) -> None:
        try:
            claim = await asyncio.to_thread(self.app.claim, delivery_id)
            if claim is not None:
                with tracer.start_as_current_span(
                    "notification send",
                    context=context_from_carrier(claim.trace),
                    kind=trace.SpanKind.CLIENT,
                    attributes={
                        "stint.delivery.channel": claim.channel.value,
                        "stint.delivery.attempt": claim.attempt,
                        "stint.delivery.source_event_type": claim.event_type,
                    },
                ) as span:
                    outcome = await self._send(claim)
                    if not outcome.delivered:
                        span.set_status(trace.Status(trace.StatusCode.ERROR, outcome.error))
                    # The outcome's event continues this trace (the thread copies the context).
                    await asyncio.to_thread(self.app.settle, claim, outcome)
                self.sent += outcome.delivered
        except Exception:
            log.exception("delivery step failed", extra={"delivery_id": delivery_id})
        finally:
            self._claimed.discard(delivery_id)
            self._slots.release()

    async def _send(self, claim: Claim) -> Outcome:
        sender = self.app.senders[claim.channel.value]
        try:
            return await sender.send(claim)
        except Exception as exc:
            log.warning(
                "sender raised", extra={"delivery_id": claim.id, "error": type(exc).__name__}
            )
            return Outcome(False, f"sender {type(exc).__name__}")
