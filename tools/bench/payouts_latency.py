"""Approval -> PayoutPaid latency at a steady, open-loop offered load, beside the provider's.

A fresh payouts service runs in process against an embedded stack (or KAFKA_BOOTSTRAP_SERVERS /
MONGODB_URI) and the provider simulator as its own process. Students have accounts and every
engagement's escrow is funded first; then DeliverableApproved events are published on a fixed
schedule (RATE per second for SECONDS, never waiting for results: open loop) and a consumer of
payouts.v1 notes when each PayoutPaid arrives. Latency is measured from the scheduled send time,
so a slow system cannot hide behind a slower offered load. In the same run: the provider call
as the service sees it (the stripe SDK round trip) and as the simulator serves it.

Settings: STINT_BENCH_PAYOUTS_RATE (default 4/s), STINT_BENCH_PAYOUTS_SECONDS (60),
STINT_BENCH_PROVIDER_LATENCY_MS (mean injected simulator latency, default 0).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from stint.applications.v1 import events_pb2 as app_events
from stint.applications.v1 import resources_pb2 as app_resources
from stint.common.v1 import money_pb2
from stint.topics import APPLICATIONS, PAYOUTS
from stint_payouts.bootstrap import provider_from
from stint_payouts.config import PayoutsSettings
from stint_payouts.domain import commands as c
from stint_payouts.domain.account import PayoutMethod, TaxFormStatus
from stint_payouts.domain.reconciliation import ProviderTransfer
from stint_payouts.entrypoints.app import PayoutsService
from stint_payouts.service_layer import handlers
from stint_payouts.service_layer.ports import Provider, TransferRequest
from stint_runtime.clock import SystemClock
from stint_runtime.messaging.envelope import decode_envelope, new_envelope
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.settings import load_settings
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.payment_provider import simulator_url, start_simulator
from stint_runtime.stack.processes import free_port
from stint_runtime.values import Actor

from tools.bench.listings_search import infrastructure, say

STUDENTS = 20
FEE_MINOR = 25_000


class TimedProvider:
    """The real provider adapter, timing each transfer call as the service makes it."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.create_ms: list[float] = []
        self._lock = threading.Lock()

    def create_transfer(self, request: TransferRequest) -> ProviderTransfer:
        started = time.perf_counter()
        try:
            return self.inner.create_transfer(request)
        finally:
            with self._lock:
                self.create_ms.append((time.perf_counter() - started) * 1000)

    def find_transfer(self, transfer_group: str) -> ProviderTransfer | None:
        return self.inner.find_transfer(transfer_group)

    def list_transfers(self) -> Iterator[ProviderTransfer]:
        return self.inner.list_transfers()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def engagement(student_id: str) -> app_resources.Engagement:
    engagement_id = f"eng-{uuid.uuid4().hex[:12]}"
    return app_resources.Engagement(
        id=engagement_id,
        listing_id="lst-bench",
        employer_org_id="org-bench",
        student_id=student_id,
        fee=money_pb2.Money(amount_minor=FEE_MINOR, currency="USD"),
    )


async def publish(publisher: KafkaPublisher, event: Any, subject: str) -> None:
    envelope = new_envelope(event, source="applications", subject=subject, clock=SystemClock())
    await publisher.publish_envelope(APPLICATIONS, envelope)


async def measure(endpoints: Endpoints, workdir: Path) -> None:
    rate = float(os.environ.get("STINT_BENCH_PAYOUTS_RATE", "4"))
    seconds = float(os.environ.get("STINT_BENCH_PAYOUTS_SECONDS", "60"))
    injected = float(os.environ.get("STINT_BENCH_PROVIDER_LATENCY_MS", "0"))
    count = max(1, int(rate * seconds))
    port = free_port()
    simulator = start_simulator(
        workdir / "provider", port, workdir / "provider.log", faults={"latency_ms": injected}
    )
    settings = load_settings("payouts").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": endpoints.kafka_bootstrap_servers,
            "mongodb_uri": endpoints.mongodb_uri,
            "mongodb_database": f"bench_payouts_{uuid.uuid4().hex[:8]}",
            "outbox_poll_seconds": 0.1,
            "timer_poll_seconds": 0.2,
            "log_level": "WARNING",
        }
    )
    payouts_settings = PayoutsSettings(
        provider_api_base=simulator_url(port), processor_poll_seconds=0.5
    )
    provider = TimedProvider(provider_from(payouts_settings))
    service = PayoutsService(settings, payouts_settings, provider=provider)
    await service.start()
    paid_at: dict[str, float] = {}
    consumer = AIOKafkaConsumer(
        PAYOUTS,
        bootstrap_servers=endpoints.kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="latest",
    )
    try:
        assert service.app is not None
        assert service.subscriber is not None
        await service.subscriber.wait_assigned()
        students = [f"stu-bench-{n}" for n in range(STUDENTS)]
        for student in students:
            command = c.RegisterPayoutAccount(
                Actor(student, "student"),
                PayoutMethod.BANK_ACCOUNT,
                "acct_bench00001234",
                "US",
                "USD",
                TaxFormStatus.VERIFIED,
            )
            await asyncio.to_thread(service.app.run, handlers.register_account, command)
        engagements = [engagement(students[n % STUDENTS]) for n in range(count)]
        await consumer.start()
        await consumer.seek_to_end()

        async def collect() -> None:
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                now = time.perf_counter()
                for records in batches.values():
                    for record in records:
                        envelope = decode_envelope(record.value)
                        if envelope.type.endswith("PayoutPaid"):
                            paid_at.setdefault(envelope.subject, now)

        collector = asyncio.create_task(collect())
        async with KafkaPublisher(endpoints.kafka_bootstrap_servers, client_id="bench") as pub:
            say(f"funding {count} escrows")
            for e in engagements:
                await publish(
                    pub, app_events.EngagementStarted(engagement_id=e.id, engagement=e), e.id
                )
            funded_by = time.monotonic() + 300
            while time.monotonic() < funded_by:
                escrows = await asyncio.to_thread(
                    service.app.uow_factory.db["escrows"].count_documents, {}
                )
                if escrows >= count:
                    break
                await asyncio.sleep(0.5)
            say(f"offering {rate:g} approvals/s for {seconds:g}s (open loop)")
            scheduled: dict[str, float] = {}
            start = time.perf_counter() + 0.5
            for n, e in enumerate(engagements):
                due = start + n / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                scheduled[f"pay-{e.id}"] = due
                event = app_events.DeliverableApproved(engagement_id=e.id, engagement=e)
                await publish(pub, event, e.id)
            drain_until = time.perf_counter() + 120
            while (  # noqa: ASYNC110 - polls a dict the collector task fills
                len(paid_at.keys() & scheduled.keys()) < count and time.perf_counter() < drain_until
            ):
                await asyncio.sleep(0.2)
        collector.cancel()
        latencies = [(paid_at[k] - due) * 1000 for k, due in scheduled.items() if k in paid_at]
        served = await asyncio.to_thread(served_latencies, simulator_url(port))
        report(rate, seconds, count, latencies, provider.create_ms, served)
    finally:
        await consumer.stop()
        await service.stop()
        simulator.stop()


def served_latencies(url: str) -> list[float]:
    """The simulator's own handling time of each transfer creation."""
    with urllib.request.urlopen(f"{url}/_simulator/stats", timeout=10) as reply:  # noqa: S310 - loopback
        return list(json.load(reply)["create_latency_ms"])


def row(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<52} {'-':>8} {'-':>8} {'-':>8} {0:>7}"
    return (
        f"  {name:<52} {percentile(values, 50):>8.1f} {percentile(values, 99):>8.1f} "
        f"{statistics.fmean(values):>8.1f} {len(values):>7}"
    )


def report(
    rate: float,
    seconds: float,
    offered: int,
    latencies: list[float],
    client_ms: list[float],
    served_ms: list[float],
) -> None:
    say("")
    say(
        f"payouts: offered {offered} approvals at {rate:g}/s for {seconds:g}s; "
        f"{len(latencies)} paid"
    )
    say(f"  {'measure (ms)':<52} {'p50':>8} {'p99':>8} {'mean':>8} {'n':>7}")
    say(row("approval event -> PayoutPaid consumed (end to end)", latencies))
    say(row("provider transfer call, seen by payouts (stripe SDK)", client_ms))
    say(row("provider transfer call, served by the simulator", served_ms))


def run() -> None:
    with infrastructure() as endpoints, tempfile.TemporaryDirectory(prefix="stint-bench-") as tmp:
        asyncio.run(measure(endpoints, Path(tmp)))
