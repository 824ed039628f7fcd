"""`python -m stint_notifications` killed (SIGKILL) while sending email: after a restart every
delivery is settled and no message was sent twice; a send whose outcome was lost fails."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database
from stint_notifications.adapters.repository import delivery_doc
from stint_notifications.domain.channels import Channel
from stint_notifications.domain.planning import PlannedDelivery
from stint_notifications.service_layer.delivery import UNKNOWN_OUTCOME
from stint_runtime.grpc.client import insecure_channel
from stint_runtime.persistence.mongo import connect
from stint_runtime.stack.backends import Backend
from stint_runtime.stack.embedded import Endpoints
from stint_runtime.stack.smtp_sink import received_messages

from tests.support.service_process import ServiceProcess
from tests.support.service_settings import settings_for_test

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
EMAILS = 120
LEASE_SECONDS = 30


@pytest.fixture
def service(infra: Endpoints, tmp_path: Path) -> Iterator[ServiceProcess]:
    settings = settings_for_test("notifications", infra, "send")
    process = ServiceProcess(settings, tmp_path)
    yield process
    process.stop()


def sent_per_delivery(maildir: Path, run: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for raw in received_messages(maildir):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        delivery = str(message.get("X-Stint-Delivery", ""))
        if delivery.startswith(run):
            counts[delivery] += 1
    return counts


async def test_no_email_is_sent_twice_across_a_sigkill(
    service: ServiceProcess, infra: Endpoints, infra_backend: Backend
) -> None:
    assert infra_backend.maildir is not None
    maildir = Path(infra_backend.maildir)
    mongo = connect(service.settings)
    db: Database[Any] = mongo[service.settings.database_name]
    run = f"crash-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    users = [f"{run}-u{i:04d}" for i in range(EMAILS)]
    db["contacts"].insert_many(
        [
            {
                "_id": u,
                "email": f"{u}@example.org",
                "display_name": "",
                "role": "student",
                "org_id": "",
                "create_time": now,
                "update_time": now,
            }
            for u in users
        ]
    )
    env = {
        "STINT_SMTP_HOST": infra.smtp_host,
        "STINT_SMTP_PORT": str(infra.smtp_port),
        "STINT_NOTIFICATIONS_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    try:
        service.start(extra_env=env)
        async with insecure_channel(service.settings.grpc_address) as channel:
            await service.wait_serving(channel)
        db["deliveries"].insert_many(
            [
                delivery_doc(
                    PlannedDelivery(
                        id=f"{run}:{u}:email",
                        channel=Channel.EMAIL,
                        recipient_id=u,
                        event_id=run,
                        event_type="stint.applications.v1.ApplicationExpired",
                        notification_id=f"{run}:{u}",
                        title="Your application expired",
                        body="You are free to apply elsewhere.",
                    ),
                    now,
                )
                for u in users
            ]
        )
        deadline = time.monotonic() + 120
        while db["deliveries"].count_documents({"event_id": run, "status": "delivered"}) < 30:
            assert time.monotonic() < deadline, "sending never got going"
            await asyncio.sleep(0.05)
        assert service.process is not None
        service.process.kill()
        left = db["deliveries"].count_documents({"event_id": run, "status": "pending"})
        assert left > 0, "killed in the middle"

        # Restarted with its clock past every lease the dead process held.
        service.start(timedelta(seconds=2 * LEASE_SECONDS), extra_env=env)
        deadline = time.monotonic() + 180
        unsettled = {"event_id": run, "status": {"$in": ["pending", "sending"]}}
        while db["deliveries"].count_documents(unsettled):
            assert service.process is not None
            assert service.process.running()
            assert time.monotonic() < deadline, "deliveries left unsettled after the restart"
            await asyncio.sleep(0.2)
        docs = list(db["deliveries"].find({"event_id": run}))
        delivered = {d["_id"] for d in docs if d["status"] == "delivered"}
        lost = {d["_id"] for d in docs if d["status"] == "failed"}
        assert delivered | lost == {d["_id"] for d in docs}
        assert all(d["last_error"] == UNKNOWN_OUTCOME for d in docs if d["_id"] in lost)
        assert len(lost) <= 8, "at most the sends in flight (the concurrency) are lost"

        async def all_arrived() -> bool:
            return delivered <= set(sent_per_delivery(maildir, run))

        deadline = time.monotonic() + 30
        while not await all_arrived():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        counts = sent_per_delivery(maildir, run)
        assert max(counts.values()) == 1, "no message sent twice"
        assert set(counts) <= delivered | lost
        print(f"\n{len(delivered)} delivered, {len(lost)} lost in the crash window")
    finally:
        mongo.close()
