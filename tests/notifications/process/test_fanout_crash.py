"""`python -m stint_notifications` as a process: a fan-out to 10,000 subscribers (2,500 match)
survives a SIGKILL in the middle: after a restart every match is alerted exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from stint_notifications.adapters.repository import subscription_doc
from stint_notifications.domain.deliveries import alert_key
from stint_notifications.domain.skills import subscription
from stint_runtime.clock import SystemClock
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import connect
from stint_runtime.stack.embedded import Endpoints

from tests.notifications.events import NOW, build_event
from tests.notifications.kit import EventFeed
from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
SUBSCRIBERS = 10_000
MATCHING = 2_500
BATCH = 250


@pytest.fixture
def service(infra: Endpoints, tmp_path: Path) -> Iterator[ServiceProcess]:
    settings = settings_for_test("notifications", infra, "process")
    process = ServiceProcess(settings, tmp_path)
    yield process
    process.stop()


def peak_rss_mib(pid: int | None) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def test_fanout_resumes_after_sigkill_and_alerts_each_match_once(
    service: ServiceProcess, infra: Endpoints
) -> None:
    mongo = connect(service.settings)
    db: Database[Any] = mongo[service.settings.database_name]
    docs = [
        subscription_doc(
            subscription(f"stu-{i:05d}", ["rust" if i % 4 == 0 else "cobol"], "", False, None, NOW)
        )
        for i in range(SUBSCRIBERS)
    ]
    for start in range(0, SUBSCRIBERS, 2_000):
        db["skill_subscriptions"].insert_many(docs[start : start + 2_000])
    env = {
        "STINT_NOTIFICATIONS_FANOUT_BATCH": str(BATCH),
        "STINT_SMTP_HOST": infra.smtp_host,
        "STINT_SMTP_PORT": str(infra.smtp_port),
    }
    listing_id = f"lst-{uuid.uuid4().hex[:8]}"
    try:
        service.start(extra_env=env)
        async with insecure_channel(service.settings.grpc_address) as channel:
            await service.wait_serving(channel)
        async with KafkaPublisher(infra.kafka_bootstrap_servers, client_id="t") as publisher:
            feed = EventFeed(publisher, SystemClock())
            event = build_event(
                "stint.listings.v1.ListingPublished", listing_id=listing_id, skills=("Rust",)
            )
            await feed.publish(event, subject=listing_id)

        deadline = time.monotonic() + 120
        while True:
            job = db["fanouts"].find_one({"_id": listing_id})
            if job is not None and job["matched"] >= MATCHING // 4:
                break
            assert time.monotonic() < deadline, "the fan-out never got going"
            await asyncio.sleep(0.05)
        assert service.process is not None
        first_peak = peak_rss_mib(service.process.pid)
        service.process.kill()
        job = db["fanouts"].find_one({"_id": listing_id}) or {}
        assert not job["done"], "killed in the middle"
        alerts = db["notifications"].count_documents({"event_id": alert_key(listing_id)})
        assert alerts == job["matched"], "alerts and the cursor commit together"

        service.start(extra_env=env)
        deadline = time.monotonic() + 180
        while not (db["fanouts"].find_one({"_id": listing_id}) or {}).get("done"):
            assert service.process is not None
            assert service.process.running()
            assert time.monotonic() < deadline, "the fan-out did not finish after the restart"
            await asyncio.sleep(0.2)
        second_peak = peak_rss_mib(service.process.pid)
        users = db["notifications"].distinct("user_id", {"event_id": alert_key(listing_id)})
        total = db["notifications"].count_documents({"event_id": alert_key(listing_id)})
        assert total == MATCHING
        assert len(users) == MATCHING
        assert all(int(u.removeprefix("stu-")) % 4 == 0 for u in users)
        print(f"\npeak RSS: {first_peak:.0f} MiB before the kill, {second_peak:.0f} MiB after")
    finally:
        mongo.close()
