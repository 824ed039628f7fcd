"""The FastStream application: subscribes to applications.v1 with Stint's contracts package.

Only the university's own students are credited; each shares their completion records with it
(a file per record here). Offsets are committed only after an event was processed
(AckPolicy.NACK_ON_ERROR: an error seeks back, so the event comes again, e.g. until the student
shared the record); the CSV is keyed by record id, so an event seen twice credits once.
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

from examples.university_credit.credits import append_credit
from examples.university_credit.records import (
    InvalidRecord,
    NotSharedYet,
    SigningKeys,
    shared_record,
)

log = logging.getLogger("university_credit")
COMPLETED = EngagementCompleted.DESCRIPTOR.full_name
RETRY_PAUSE_SECONDS = 0.5


@dataclass(frozen=True)
class Config:
    bootstrap_servers: str
    applications_address: str
    shared_records: Path
    credits_csv: Path
    # The university's own students (their Stint ids, linked at enrolment): others are skipped.
    students: frozenset[str]
    group_id: str = "university-credit"


def create_app(config: Config) -> tuple[FastStream, KafkaBroker]:
    """The app and its broker; nothing connects until the app (or the broker) starts."""
    broker = KafkaBroker(config.bootstrap_servers)
    keys = SigningKeys(config.applications_address)

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
        try:
            record = shared_record(config.shared_records, event.completion_record_id)
        except NotSharedYet:
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            raise  # not committed: the event comes again
        try:
            claim = await keys.verify(record)
        except InvalidRecord as refused:
            log.warning("record %s refused: %s", event.completion_record_id, refused)
            return
        if claim.engagement_id != event.engagement_id:
            log.warning("record %s is for another engagement", event.completion_record_id)
            return
        if append_credit(config.credits_csv, claim):
            log.info("credited %s for %s", claim.student_id, claim.record_id)

    return FastStream(broker), broker
