"""The operator subcommands of `stint`: each returns an exit code and prints either lines for
people or, with --json, one JSON document for scripts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from stint_runtime.ops import EXIT_FAILED, OperatorError
from stint_runtime.ops.dead_letters import DeadLetter, read_dead_letters, replay, select
from stint_runtime.ops.decoding import decode_event, text_or_base64
from stint_runtime.ops.kafka_clients import kafka_consumer, kafka_producer
from stint_runtime.ops.service_store import OUTBOX, failed_timers, outbox_status, requeue
from stint_runtime.settings import load_settings

Emit = Callable[[str], None]
CLI_NAME = "cli"
MONGODB_TIMEOUT_MS = 5_000


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return text_or_base64(value)
    return str(value)


def emit_json(emit: Emit, document: Any) -> None:
    emit(json.dumps(document, default=_json_default, indent=2))


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


def _bootstrap(args: argparse.Namespace) -> str:
    return str(args.bootstrap_servers or load_settings(CLI_NAME).kafka_bootstrap_servers)


def _letters(args: argparse.Namespace) -> list[DeadLetter]:
    consumer = kafka_consumer(load_settings(CLI_NAME), _bootstrap(args), "stint-dlq")
    try:
        return read_dead_letters(consumer, args.topic, timeout=args.timeout)
    finally:
        consumer.close()


def letter_document(letter: DeadLetter) -> dict[str, Any]:
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "key": text_or_base64(letter.key),
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        **letter.origin(),
        **decode_event(letter.value),
    }


def dlq_list(args: argparse.Namespace, emit: Emit) -> int:
    letters = _letters(args)
    if args.json:
        emit_json(emit, [letter_document(letter) for letter in letters])
        return 0
    emit(f"{args.topic}: {len(letters)} dead letter(s)")
    for letter in letters:
        origin = letter.origin()
        emit(
            f"- partition {letter.partition} offset {letter.offset}: event {letter.event_id} "
            f"({letter.event_type}), key {text_or_base64(letter.key)}"
        )
        emit(
            f"  from {origin['original_topic']} partition {origin['original_partition']} "
            f"offset {origin['original_offset']}, group {origin['group']}, "
            f"{origin['attempts']} attempt(s)"
        )
        emit(f"  reason: {origin['reason']}")
    return 0


def dlq_replay(args: argparse.Namespace, emit: Emit) -> int:
    chosen = select(_letters(args), None if args.all else args.event_id)
    producer = kafka_producer(load_settings(CLI_NAME), _bootstrap(args), "stint-dlq-replay")
    try:
        replayed = replay(producer, chosen)
    finally:
        producer.close()
    if args.json:
        emit_json(emit, {"replayed": replayed})
        return 0
    emit(f"replayed {len(replayed)} record(s) from {args.topic}")
    for sent in replayed:
        emit(
            f"- event {sent['event_id']} -> {sent['topic']} partition {sent['partition']} "
            f"offset {sent['offset']}"
        )
    return 0


@contextmanager
def service_database(service: str) -> Iterator[Any]:
    """The service's own database (settings as the service would load them)."""
    from pymongo.errors import PyMongoError

    from stint_runtime.persistence.mongo import connect

    settings = load_settings(service)
    client = connect(settings, server_selection_timeout_ms=MONGODB_TIMEOUT_MS)
    try:
        db = client[settings.database_name]
        if OUTBOX not in db.list_collection_names():
            raise OperatorError(
                f"database {db.name} has no outbox: is {service!r} a Stint service "
                "(and STINT_MONGODB_DATABASE right)?",
                EXIT_FAILED,
            )
        yield db
    except PyMongoError as error:
        raise OperatorError(
            f"cannot reach MongoDB (MONGODB_URI / STINT_MONGODB_URI): {type(error).__name__}",
            EXIT_FAILED,
        ) from None
    finally:
        client.close()


def outbox_status_command(args: argparse.Namespace, emit: Emit) -> int:
    with service_database(args.service) as db:
        status = outbox_status(db, datetime.now(UTC))
    if args.json:
        emit_json(emit, {"service": args.service, **status})
        return 0
    age = status["oldest_pending_age_seconds"]
    emit(f"{args.service} outbox ({status['database']})")
    emit(f"  pending: {status['pending']}")
    emit(f"  oldest pending: {'-' if age is None else f'{age:.1f}s old'}")
    emit(f"  parked: {status['parked']}")
    for record in status["parked_records"]:
        emit(
            f"  - {record['id']} {record['type']} on {record['topic']} (key {record['key']}), "
            f"parked {_when(record['parked_at'])} after {record['attempts']} attempt(s): "
            f"{record['reason']}"
        )
    return 0


def outbox_requeue_command(args: argparse.Namespace, emit: Emit) -> int:
    with service_database(args.service) as db:
        record = requeue(db, args.id)
    if args.json:
        emit_json(emit, {"requeued": args.id, "topic": record.get("topic")})
        return 0
    emit(f"requeued {args.id} ({record.get('type')} on {record.get('topic')}): the relay sends it")
    return 0


def timers_failed_command(args: argparse.Namespace, emit: Emit) -> int:
    with service_database(args.service) as db:
        timers = failed_timers(db)
    if args.json:
        emit_json(emit, timers)
        return 0
    emit(f"{args.service}: {len(timers)} failed timer(s)")
    for timer in timers:
        emit(
            f"- {timer['name']} of {timer['collection']} {timer['aggregate_id']}, due "
            f"{_when(timer['due_at'])}, failed {_when(timer['failed_at'])} after "
            f"{timer['failures']} failure(s): {timer['reason']}"
        )
    return 0
