"""One trace: an approval made over gRPC is followed, under one trace id, through applications'
outbox and Kafka to payouts (processing and the provider call) and notifications (delivery),
each process exporting its spans over OTLP to a receiver, as to any collector."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from stint_runtime.running import RunningPlatform

from tests.e2e.otlp_receiver import Running, Span, otlp_receiver
from tools.demo.platform import started_platform

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

REPOSITORY = Path(__file__).resolve().parents[2]
APPROVAL_TRACE = re.compile(r"trace of the approval: ([0-9a-f]{32})")
SPANS_WAIT = 60.0


@pytest.fixture(scope="module")
def collector() -> Iterator[Running]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def platform(collector: Running) -> Iterator[RunningPlatform]:
    env = {
        "STINT_OTEL_EXPORTER": "otlp",
        "STINT_OTEL_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export within a fraction of a second
    }
    with started_platform(env) as running:
        yield running


def expected(spans: list[Span]) -> dict[str, bool]:
    """The hops of one approval, each by the process that must have recorded it."""

    def has(service: str, kind: str, pattern: str, **attributes: str) -> bool:
        return any(
            s.service == service
            and s.kind == kind
            and re.search(pattern, s.name)
            and all(str(s.attributes.get(k)) == v for k, v in attributes.items())
            for s in spans
        )

    approved = "stint.applications.v1.DeliverableApproved"
    return {
        "applications: ApproveDeliverable gRPC server span": has(
            "applications", "SERVER", r"ApplicationsService/ApproveDeliverable$"
        ),
        "applications: Kafka publish of DeliverableApproved": has(
            "applications",
            "PRODUCER",
            r"^applications\.v1 publish$",
            **{"cloudevents.event_type": approved},
        ),
        "payouts: consumes DeliverableApproved": has(
            "payouts", "CONSUMER", r"^applications\.v1 process$"
        ),
        "payouts: processes the payout": has("payouts", "INTERNAL", r"^payout process$"),
        "payouts: calls the provider": has("payouts", "CLIENT", r"^provider transfers\.create$"),
        "payouts: publishes PayoutPaid": has(
            "payouts",
            "PRODUCER",
            r"^payouts\.v1 publish$",
            **{"cloudevents.event_type": "stint.payouts.v1.PayoutPaid"},
        ),
        "notifications: consumes DeliverableApproved": has(
            "notifications", "CONSUMER", r"^applications\.v1 process$"
        ),
        "notifications: delivers the notice": has(
            "notifications", "CLIENT", r"^notification send$"
        ),
    }


def test_one_approval_is_one_trace_across_the_processes(
    platform: RunningPlatform, collector: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "tools.demo", "--data-dir", str(Path(platform.clock_file).parent)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    found = APPROVAL_TRACE.search(demo.stdout)
    assert found is not None, demo.stdout
    trace_id = found.group(1)

    deadline = time.monotonic() + SPANS_WAIT
    while True:
        spans = collector.receiver.of_trace(trace_id)
        hops = expected(spans)
        if all(hops.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    missing = [hop for hop, seen in hops.items() if not seen]
    seen = sorted({f"{s.service}: {s.kind} {s.name}" for s in spans})
    assert missing == [], f"trace {trace_id} lacks {missing}; it has {seen}"
    services = {s.service for s in spans}
    assert {"applications", "payouts", "notifications"} <= services
    per_service = Counter(s.service for s in spans)
    with capsys.disabled():
        print(
            f"\n[one trace] approval trace {trace_id}: {len(spans)} spans "
            f"({', '.join(f'{name} {n}' for name, n in sorted(per_service.items()))}; "
            f"{collector.receiver.count()} spans received in all)"
        )
