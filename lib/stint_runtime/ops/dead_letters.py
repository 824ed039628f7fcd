"""Dead-letter topics: read every record with why and from where it was dead-lettered, and
replay records to their original topic (the consumers' inbox makes a replay safe)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stint_runtime.messaging.envelope import InvalidEnvelopeError, decode_envelope
from stint_runtime.ops import EXIT_FAILED, EXIT_REFUSED, OperatorError

DLT_HEADER_PREFIX = "dlt-"
SEND_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, with the headers the subscriber added."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name and value is not None:
                return bytes(value).decode("utf-8", errors="replace")
        return None

    def _int_header(self, name: str) -> int | None:
        raw = self.header(name)
        return int(raw) if raw is not None and raw.lstrip("-").isdigit() else None

    @property
    def event_id(self) -> str | None:
        """The envelope's id; the ce_id header when the value is not an envelope."""
        try:
            return decode_envelope(self.value).id or None
        except InvalidEnvelopeError:
            return self.header("ce_id")

    @property
    def event_type(self) -> str | None:
        try:
            return decode_envelope(self.value).type or None
        except InvalidEnvelopeError:
            return self.header("ce_type")

    @property
    def original_topic(self) -> str | None:
        return self.header("dlt-original-topic")

    def origin(self) -> dict[str, Any]:
        """Why and from where: reason, group, attempts, original topic/partition/offset."""
        return {
            "reason": self.header("dlt-reason"),
            "group": self.header("dlt-group"),
            "attempts": self._int_header("dlt-attempts"),
            "original_topic": self.original_topic,
            "original_partition": self._int_header("dlt-original-partition"),
            "original_offset": self._int_header("dlt-original-offset"),
        }

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original record's headers: the dead-letter ones removed."""
        return [(k, bytes(v)) for k, v in self.headers if not k.startswith(DLT_HEADER_PREFIX)]


def read_dead_letters(consumer: Any, topic: str, *, timeout: float) -> list[DeadLetter]:
    """Every record of `topic` up to its current end, read with a group-less kafka-python
    consumer (assign, no group join); raises OperatorError when the topic does not exist."""
    from kafka import TopicPartition

    consumer.topics()  # loads the cluster metadata
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        raise OperatorError(f"topic {topic!r} does not exist", EXIT_FAILED)
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    end = consumer.end_offsets(assigned)
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + timeout
    while any(consumer.position(tp) < end[tp] for tp in assigned):
        if time.monotonic() > deadline:
            raise OperatorError(f"reading {topic!r} timed out after {timeout:g}s", EXIT_FAILED)
        for tp, records in consumer.poll(timeout_ms=500).items():
            letters.extend(
                DeadLetter(
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    value=record.value,
                    headers=tuple((k, bytes(v)) for k, v in record.headers if v is not None),
                )
                for record in records
                if record.offset < end[tp]
            )
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


def select(letters: Sequence[DeadLetter], event_id: str | None) -> list[DeadLetter]:
    """All letters, or those of one event id (refused when there is none)."""
    if event_id is None:
        return list(letters)
    chosen = [letter for letter in letters if letter.event_id == event_id]
    if not chosen:
        raise OperatorError(f"no dead letter with event id {event_id!r}", EXIT_REFUSED)
    return chosen


def replay(producer: Any, letters: Iterable[DeadLetter]) -> list[dict[str, Any]]:
    """Republish each letter's key, value and original headers to its original topic."""
    replayed: list[dict[str, Any]] = []
    for letter in letters:
        topic = letter.original_topic
        if not topic:
            raise OperatorError(
                f"record at partition {letter.partition} offset {letter.offset} has no "
                "dlt-original-topic header: not a Stint dead letter",
                EXIT_FAILED,
            )
        sent = producer.send(
            topic, value=letter.value, key=letter.key, headers=letter.replay_headers()
        ).get(timeout=SEND_TIMEOUT_SECONDS)
        replayed.append(
            {
                "event_id": letter.event_id,
                "from_partition": letter.partition,
                "from_offset": letter.offset,
                "topic": topic,
                "partition": sent.partition,
                "offset": sent.offset,
            }
        )
    producer.flush()
    return replayed
