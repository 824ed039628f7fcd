"""The `stint` command: dev tokens, decoded events, the local stack, and operator tools for
dead-letter topics, the outbox and failed timers (readable output; --json for scripts)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from stint_runtime.ops import OperatorError, commands
from stint_runtime.ops.decoding import decode_event, text_or_base64
from stint_runtime.ops.kafka_clients import kafka_consumer
from stint_runtime.settings import load_settings

__all__ = ["build_parser", "decode_event", "main", "parse_args"]

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
    from kafka import TopicPartition

    consumer = kafka_consumer(load_settings(CLI_NAME), bootstrap_servers, "stint-events-tail")
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
                        "key": text_or_base64(record.key),
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


def policy(args: argparse.Namespace) -> int:
    """Who may call each RPC, from the declared policies (`--markdown` is docs/policies.md)."""
    from stint_runtime.grpc import policy_table

    try:
        if args.markdown:
            print(policy_table.markdown(args.service), end="")
            return 0
        rows = [r for s in policy_table.services(args.service) for r in policy_table.policy_rows(s)]
    except policy_table.UnknownService as unknown:
        print(f"stint: {unknown}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([row.as_json() for row in rows], indent=2))
    else:
        print(policy_table.text_table(rows))
    return 0


def reset_data(args: argparse.Namespace) -> int:
    """Deletes the development data after showing what goes and asking (unless --yes)."""
    from stint_runtime.ops import EXIT_REFUSED
    from stint_runtime.ops.reset import plan_reset, reset
    from stint_runtime.run import default_root

    settings = load_settings(CLI_NAME)
    chosen = args.data_dir or os.environ.get("STINT_DATA_DIR") or default_root() / ".stint"
    plan = plan_reset(settings, Path(chosen).resolve())
    print("stint reset deletes the development data:", *plan.describe(), sep="\n")
    if not args.yes:
        try:
            answer = input("Delete all of this? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in {"y", "yes"}:
            print("stint: nothing deleted (--yes resets without asking)", file=sys.stderr)
            return EXIT_REFUSED
    reset(plan, settings, lambda line: print(line, flush=True))
    print("stint: development data deleted; restart `make run` to empty the embedded Kafka too")
    return 0


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


def _printing(
    command: Callable[[argparse.Namespace, commands.Emit], int],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return command(args, lambda line: print(line, flush=True))

    return run


def _add_operator_commands(subcommands: Any) -> None:
    """dlq list/replay, outbox status/requeue, timers failed; each takes --json."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    kafka = argparse.ArgumentParser(add_help=False)
    kafka.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or 19092")
    kafka.add_argument(
        "--timeout", type=positive(float), default=60.0, help="give up reading after S seconds"
    )

    dlq = subcommands.add_parser("dlq", help="dead-letter topics (<group>.<topic>.dlt)")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq_commands.add_parser(
        "list", parents=[output, kafka], help="the records with reason, attempts and origin"
    )
    dlq_list.add_argument("topic", help="a dead-letter topic, e.g. payouts.applications.v1.dlt")
    dlq_list.set_defaults(handler=_printing(commands.dlq_list))
    dlq_replay = dlq_commands.add_parser(
        "replay", parents=[output, kafka], help="republish records to their original topic"
    )
    dlq_replay.add_argument("topic")
    which = dlq_replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--event-id", help="replay the records of this event id")
    which.add_argument("--all", action="store_true", help="replay every record")
    dlq_replay.set_defaults(handler=_printing(commands.dlq_replay))

    outbox = subcommands.add_parser("outbox", help="a service's transactional outbox")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    status = outbox_commands.add_parser(
        "status", parents=[output], help="pending, parked and the oldest pending age"
    )
    status.add_argument("service", help="e.g. listings (its database: stint_<service>)")
    status.set_defaults(handler=_printing(commands.outbox_status_command))
    requeue = outbox_commands.add_parser(
        "requeue", parents=[output], help="send a parked record again"
    )
    requeue.add_argument("service")
    requeue.add_argument("id", help="the parked record's id (its event id)")
    requeue.set_defaults(handler=_printing(commands.outbox_requeue_command))

    timers = subcommands.add_parser("timers", help="a service's durable timers")
    timers_commands = timers.add_subparsers(dest="timers_command", required=True)
    failed = timers_commands.add_parser(
        "failed", parents=[output], help="timers that exhausted their retries"
    )
    failed.add_argument("service")
    failed.set_defaults(handler=_printing(commands.timers_failed_command))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stint", description=__doc__)
    subcommands = parser.add_subparsers(dest="command", required=True)

    token_parser = subcommands.add_parser(
        "token", help="print a dev token for the configured secret"
    )
    token_parser.add_argument("--role", required=True, choices=ROLES)
    token_parser.add_argument("--sub", required=True, help="the user id")
    token_parser.add_argument("--org", help="the employer's organisation (required for employer)")
    token_parser.add_argument(
        "--ttl", type=positive(int), default=60, help="minutes until it expires (default 60)"
    )
    token_parser.set_defaults(handler=token)

    events = subcommands.add_parser("events", help="read events from Kafka")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    tail = events_commands.add_parser("tail", help="print a topic's events as JSON lines")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="not only new events")
    tail.add_argument("--max", type=positive(int), help="stop after N events")
    tail.add_argument("--timeout", type=positive(float), help="stop after S seconds without one")
    tail.add_argument("--bootstrap-servers", help="default: KAFKA_BOOTSTRAP_SERVERS or 19092")
    tail.set_defaults(handler=events_tail)

    _add_operator_commands(subcommands)

    policy_parser = subcommands.add_parser(
        "policy", help="who may call each RPC: roles, anonymous, mutating, idempotency key"
    )
    policy_parser.add_argument(
        "service", nargs="?", help="listings, applications, payouts or notifications (default all)"
    )
    policy_format = policy_parser.add_mutually_exclusive_group()
    policy_format.add_argument("--json", action="store_true", help="one JSON document")
    policy_format.add_argument("--markdown", action="store_true", help="docs/policies.md")
    policy_parser.set_defaults(handler=policy)

    reset_parser = subcommands.add_parser(
        "reset", help="delete the development data (databases, mail, simulator) after asking"
    )
    reset_parser.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    reset_parser.add_argument("--data-dir", help="default: STINT_DATA_DIR or .stint/")
    reset_parser.set_defaults(handler=reset_data)

    stack_parser = subcommands.add_parser(
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
    try:
        return handler(args)
    except OperatorError as error:
        print(f"stint: {error.message}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
