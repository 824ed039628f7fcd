"""The `stint` command: dev tokens, decoded events, the local stack."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from stint_runtime.settings import load_settings

ROLES = ("employer", "student", "admin")
CLI_NAME = "cli"


def token(args: argparse.Namespace) -> int:
    from stint_runtime.grpc.auth import mint_token

    settings = load_settings(CLI_NAME)
    try:
        minted = mint_token(
            settings, sub=args.sub, role=args.role, org=args.org, ttl=timedelta(minutes=args.ttl)
        )
    except (RuntimeError, ValueError) as refused:
        print(f"stint: {refused}", file=sys.stderr)
        return 1
    print(minted)
    return 0


def _text_or_base64(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


def decode_event(value: bytes | None) -> dict[str, Any]:
    """{"envelope": ...} with `data` decoded to its event type, or {"undecodable": why}."""
    from google.protobuf import json_format

    from stint_runtime.messaging.envelope import InvalidEnvelopeError, decode_envelope, unpack

    try:
        envelope = decode_envelope(value)
    except InvalidEnvelopeError as error:
        return {"undecodable": str(error), "value": _text_or_base64(value)}
    attributes = type(envelope)()
    attributes.CopyFrom(envelope)
    attributes.ClearField("data")  # json_format cannot print an Any of an unknown type
    shown = json_format.MessageToDict(attributes, preserving_proto_field_name=True)
    try:
        event = unpack(envelope)
    except Exception as error:  # an unknown or corrupt payload is shown, never fatal
        shown["data"] = {
            "@type": envelope.data.type_url,
            "undecodable": f"{type(error).__name__}: {error}",
            "value": "base64:" + base64.b64encode(envelope.data.value).decode("ascii"),
        }
    else:
        shown["data"] = {
            "@type": envelope.data.type_url,
            **json_format.MessageToDict(event, preserving_proto_field_name=True),
        }
    return {"envelope": shown}


def tail_events(
    bootstrap_servers: str,
    topic: str,
    *,
    from_beginning: bool,
    max_events: int | None,
    idle_timeout: float | None,
    emit: Callable[[str], None],
) -> int:
    """Print one JSON line per record; reads partitions directly, without a consumer group."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="stint-events-tail",
    )
    try:
        deadline = None if idle_timeout is None else time.monotonic() + idle_timeout
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            print(f"stint: waiting for topic {topic!r} to exist", file=sys.stderr)
        while not partitions:
            if deadline is not None and time.monotonic() > deadline:
                print(f"stint: topic {topic!r} does not exist", file=sys.stderr)
                return 1
            time.sleep(0.5)
            consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        if from_beginning:
            consumer.seek_to_beginning(*assigned)
        else:
            consumer.seek_to_end(*assigned)
        printed = 0
        deadline = None if idle_timeout is None else time.monotonic() + idle_timeout
        while max_events is None or printed < max_events:
            if deadline is not None and time.monotonic() > deadline:
                break
            batches = consumer.poll(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    line = {
                        "partition": record.partition,
                        "offset": record.offset,
                        "key": _text_or_base64(record.key),
                        **decode_event(record.value),
                    }
                    emit(json.dumps(line, sort_keys=False))
                    printed += 1
                    if idle_timeout is not None:
                        deadline = time.monotonic() + idle_timeout
                    if max_events is not None and printed >= max_events:
                        return 0
        return 0
    finally:
        consumer.close()


def events_tail(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap_servers or load_settings(CLI_NAME).kafka_bootstrap_servers
    return tail_events(
        bootstrap,
        args.topic,
        from_beginning=args.from_beginning,
        max_events=args.max,
        idle_timeout=args.timeout,
        emit=lambda line: print(line, flush=True),
    )


def stack(args: argparse.Namespace) -> int:
    from stint_runtime import run

    return run.main(["--stack-only", *args.run_args])


def positive(kind: Callable[[str], int | float]) -> Callable[[str], Any]:
    def parse(raw: str) -> int | float:
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {raw}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stint", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    token_parser = commands.add_parser("token", help="print a dev token for the configured secret")
    token_parser.add_argument("--role", required=True, choices=ROLES)
    token_parser.add_argument("--sub", required=True, help="the user id")
    token_parser.add_argument("--org", help="the employer's organisation (required for employer)")
    token_parser.add_argument(
        "--ttl", type=positive(int), default=60, help="minutes until it expires (default 60)"
    )
    token_parser.set_defaults(handler=token)

    events = commands.add_parser("events", help="read events from Kafka")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    tail = events_commands.add_parser("tail", help="print a topic's events as JSON lines")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="not only new events")
    tail.add_argument("--max", type=positive(int), help="stop after N events")
    tail.add_argument("--timeout", type=positive(float), help="stop after S seconds without one")
    tail.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or 19092")
    tail.set_defaults(handler=events_tail)

    stack_parser = commands.add_parser(
        "stack", help="only the infrastructure, in the foreground (python -m stint_runtime.run)"
    )
    stack_parser.set_defaults(handler=stack, run_args=[])
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command != "stack":
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.run_args = unknown
    if args.command == "token" and args.role == "employer" and not args.org:
        parser.error("--org is required with --role employer")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
