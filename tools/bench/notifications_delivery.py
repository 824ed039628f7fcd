"""Skill-alert fan-out time for 10,000 subscribers, and emails per second through the service
beside a bare aiosmtplib send loop, measured in the same run against the same SMTP sink.

Fan-out: a fresh database is seeded with 10,000 skill subscriptions (2,500 match), the
notifications service starts in process on it, one ListingPublished is published on the broker,
and the time until its fan-out job is done is measured (inbox items only: the subscribers have
no email contact). Email: N pending email deliveries to registered contacts are stored, and the
time until the dispatcher has claimed, rendered, sent and settled all of them is measured; the
baseline sends N messages of the same size with aiosmtplib.send in a loop, nothing else.
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from pymongo.database import Database
from stint.listings.v1 import events_pb2 as listings_events
from stint_notifications.adapters.repository import delivery_doc, subscription_doc
from stint_notifications.config import NotificationsSettings
from stint_notifications.domain.channels import Channel
from stint_notifications.domain.deliveries import alert_key
from stint_notifications.domain.planning import PlannedDelivery
from stint_notifications.domain.skills import subscription
from stint_notifications.entrypoints.app import NotificationsService
from stint_runtime.messaging.envelope import new_envelope, topic_of
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.persistence.mongo import connect
from stint_runtime.settings import StintSettings, load_settings
from stint_runtime.stack.embedded import Endpoints, smtp_sink_process
from stint_runtime.stack.processes import free_port, port_open

from tools.bench.listings_search import infrastructure, say

SUBSCRIBERS = 10_000
MATCH_EVERY = 4
EMAILS = 300
EMAIL_LIMIT_SECONDS = 300.0


def settings_for(endpoints: Endpoints, smtp_port: int) -> StintSettings:
    return load_settings("notifications").model_copy(
        update={
            "environment": "test",
            "grpc_port": free_port(),
            "kafka_bootstrap_servers": endpoints.kafka_bootstrap_servers,
            "mongodb_uri": endpoints.mongodb_uri,
            "mongodb_database": f"bench_notifications_{uuid.uuid4().hex[:8]}",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "timer_poll_seconds": 0.05,
            "outbox_poll_seconds": 0.1,
            "log_level": "WARNING",
        }
    )


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def wait(condition: Any, limit: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise TimeoutError("benchmark step did not finish")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def fanout(settings: StintSettings, db: Database[Any]) -> None:
    now = datetime.now(UTC)
    docs = [
        subscription_doc(
            subscription(
                f"stu-{i:05d}", ["rust" if i % MATCH_EVERY == 0 else "cobol"], "", False, None, now
            )
        )
        for i in range(SUBSCRIBERS)
    ]
    for start in range(0, SUBSCRIBERS, 2_000):
        db["skill_subscriptions"].insert_many(docs[start : start + 2_000])
    listing_id = f"lst-{uuid.uuid4().hex[:8]}"
    event = listings_events.ListingPublished(listing_id=listing_id)
    event.listing.id = listing_id
    event.listing.title = "Bench"
    event.listing.skills.append("rust")
    service = NotificationsService(settings, config=NotificationsSettings(fanout_batch=500))
    await service.start()
    try:
        async with KafkaPublisher(settings.kafka_bootstrap_servers, client_id="bench") as kafka:
            envelope = new_envelope(event, source="bench", subject=listing_id, clock=service.clock)
            started = time.monotonic()
            await kafka.publish_envelope(topic_of(event), envelope)

            def done() -> bool:
                job = db["fanouts"].find_one({"_id": listing_id})
                return job is not None and bool(job["done"])

            await wait(done, 600)
            seconds = time.monotonic() - started
    finally:
        await service.stop()
    alerts = db["notifications"].count_documents({"event_id": alert_key(listing_id)})
    say(
        f"fan-out: {SUBSCRIBERS} subscribers, {alerts} alerts in {seconds:.1f} s "
        f"({SUBSCRIBERS / seconds:.0f} subscribers/s, {alerts / seconds:.0f} alerts/s); "
        f"peak RSS of the benchmark process {peak_rss_mib():.0f} MiB"
    )


async def emails_through_service(settings: StintSettings, db: Database[Any]) -> float:
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    users = [f"bench-{run}-{i:04d}" for i in range(EMAILS)]
    db["contacts"].insert_many(
        [
            {
                "_id": u,
                "email": f"{u}@example.org",
                "display_name": u,
                "role": "student",
                "org_id": "",
                "create_time": now,
                "update_time": now,
            }
            for u in users
        ]
    )
    service = NotificationsService(settings)
    await service.start()
    try:
        deliveries = [
            delivery_doc(
                PlannedDelivery(
                    id=f"bench-{u}",
                    channel=Channel.EMAIL,
                    recipient_id=u,
                    event_id=f"bench-{run}",
                    event_type="stint.applications.v1.ApplicationExpired",
                    notification_id=f"bench-{u}",
                    title="Your application expired",
                    body="The employer did not decide in time. You are free to apply elsewhere.",
                ),
                service.clock.now(),
            )
            for u in users
        ]
        started = time.monotonic()
        db["deliveries"].insert_many(deliveries)

        def all_sent() -> bool:
            return (
                db["deliveries"].count_documents(
                    {"event_id": f"bench-{run}", "status": "delivered"}
                )
                == EMAILS
            )

        await wait(all_sent, EMAIL_LIMIT_SECONDS)
        return EMAILS / (time.monotonic() - started)
    finally:
        await service.stop()


async def bare_loop(port: int) -> float:
    started = time.monotonic()
    for i in range(EMAILS):
        message = EmailMessage()
        message["From"] = "Stint <notifications@stint.invalid>"
        message["To"] = f"bare-{i}@example.org"
        message["Subject"] = "Your application expired"
        message.set_content("The employer did not decide in time. " * 10)
        message.add_alternative("<p>The employer did not decide in time.</p>" * 10, "html")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=port, start_tls=False)
    return EMAILS / (time.monotonic() - started)


async def main() -> None:
    with infrastructure() as endpoints, tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        sink = smtp_sink_process(port, Path(workdir) / "mail", Path(workdir) / "smtp.log")
        sink.start()
        try:
            sink.wait_ready(lambda: port_open("127.0.0.1", port), 30)
            settings = settings_for(endpoints, port)
            mongo = connect(settings)
            try:
                db: Database[Any] = mongo[settings.database_name]
                await fanout(settings, db)
                service_rate = await emails_through_service(settings, db)
            finally:
                mongo.close()
            bare_rate = await bare_loop(port)
        finally:
            sink.stop()
    say(
        f"email: {EMAILS} messages; through the service (claim, render, send, settle, "
        f"concurrency {NotificationsSettings().delivery_concurrency}) {service_rate:.0f}/s; "
        f"bare aiosmtplib.send loop {bare_rate:.0f}/s (same sink, same run)"
    )


def run() -> None:
    asyncio.run(main())


if __name__ == "__main__":
    run()
