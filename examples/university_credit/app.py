"""The FastStream application: subscribes to applications.v1 with Stint's contracts package.

Only the university's own students are credited; each shares their completion records with it
(a file per record here). Offsets are committed only after an event was processed
(AckPolicy.NACK_ON_ERROR: a transient error, e.g. Stint unreachable, seeks back and the event
comes again). A record the student has not shared yet is not an error: it is parked in a small
"awaiting share" file and the event is committed, so the partition moves on (never hold every
other student's credit behind one); a background task retries the parked records until shared.
The CSV is keyed by record id, so an event seen twice credits once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from stint.applications.v1.events_pb2 import EngagementCompleted
from stint.common.v1.events_pb2 import EventEnvelope
from stint.topics import APPLICATIONS

from examples.university_credit.awaiting import AwaitingShare
from examples.university_credit.credits import append_credit
from examples.university_credit.records import (
    InvalidRecord,
    NotSharedYet,
    SigningKeys,
    shared_record,
)

log = logging.getLogger("university_credit")
COMPLETED = EngagementCompleted.DESCRIPTOR.full_name


@dataclass(frozen=True)
class Config:
    bootstrap_servers: str
    applications_address: str
    shared_records: Path
    credits_csv: Path
    # The university's own students (their Stint ids, linked at enrolment): others are skipped.
    students: frozenset[str]
    group_id: str = "university-credit"
    # Where records awaiting the student's share wait (default: next to the credits CSV).
    awaiting_share: Path | None = None
    retry_seconds: float = 5.0


def create_app(config: Config, keys: SigningKeys | None = None) -> tuple[FastStream, KafkaBroker]:
    """The app and its broker; nothing connects until the app (or the broker) starts."""
    broker = KafkaBroker(config.bootstrap_servers)
    signing_keys = keys or SigningKeys(config.applications_address)
    awaiting = AwaitingShare(
        config.awaiting_share
        or config.credits_csv.with_name(f"{config.credits_csv.stem}.awaiting.json")
    )
    retrying: set[asyncio.Task[None]] = set()

    async def credit(record_id: str, engagement_id: str) -> bool:
        """Credit the record once verified; False while the student has not shared it."""
        try:
            record = shared_record(config.shared_records, record_id)
        except NotSharedYet:
            return False
        try:
            claim = await signing_keys.verify(record)
        except InvalidRecord as refused:
            log.warning("record %s refused: %s", record_id, refused)
            return True
        if claim.engagement_id != engagement_id:
            log.warning("record %s is for another engagement", record_id)
            return True
        if append_credit(config.credits_csv, claim):
            log.info("credited %s for %s", claim.student_id, claim.record_id)
        return True

    async def retry_parked() -> None:
        while awaiting.pending():
            await asyncio.sleep(config.retry_seconds)
            for record_id, engagement_id in awaiting.pending().items():
                try:
                    if await credit(record_id, engagement_id):
                        awaiting.done(record_id)
                except Exception:  # Stint unreachable: the record stays parked, tried again
                    log.exception("record %s: retry failed", record_id)

    def keep_retrying() -> None:
        if not retrying:
            task = asyncio.create_task(retry_parked())
            retrying.add(task)
            task.add_done_callback(retrying.discard)

    @broker.subscriber(
        APPLICATIONS,
        group_id=config.group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_applications_event(body: bytes) -> None:
        envelope = EventEnvelope.FromString(body)
        if envelope.type != COMPLETED:
            return
        event = EngagementCompleted()
        envelope.data.Unpack(event)
        if event.engagement.student_id not in config.students:
            return
        if not await credit(event.completion_record_id, event.engagement_id):
            awaiting.park(event.completion_record_id, event.engagement_id)
            log.info("record %s awaits the student's share", event.completion_record_id)
        if awaiting.pending():
            keep_retrying()

    app = FastStream(broker)

    @app.on_shutdown
    async def stop_retrying() -> None:
        for task in list(retrying):
            task.cancel()

    return app, broker
