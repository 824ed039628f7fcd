"""`stint` command-line parsing."""

from __future__ import annotations

import pytest
from stint_runtime.cli import parse_args


def test_token_takes_role_subject_organisation_and_ttl_in_minutes() -> None:
    args = parse_args(
        ["token", "--role", "employer", "--sub", "emp-1", "--org", "org-1", "--ttl", "5"]
    )

    assert (args.role, args.sub, args.org, args.ttl) == ("employer", "emp-1", "org-1", 5)


def test_token_defaults_to_an_hour_without_organisation_for_students() -> None:
    args = parse_args(["token", "--role", "student", "--sub", "stu-1"])

    assert (args.org, args.ttl) == (None, 60)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "--role", "employer", "--sub", "emp-1"], "--org is required"),
        (["token", "--role", "guest", "--sub", "x"], "invalid choice: 'guest'"),
        (["token", "--role", "student", "--sub", "x", "--ttl", "0"], "must be positive"),
        (["token", "--role", "student"], "--sub"),
        (["events", "tail"], "topic"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_events_tail_reads_new_events_forever_unless_told_otherwise() -> None:
    args = parse_args(["events", "tail", "listings.v1"])

    assert (args.topic, args.from_beginning, args.max, args.timeout) == (
        "listings.v1",
        False,
        None,
        None,
    )


def test_events_tail_options() -> None:
    args = parse_args(
        ["events", "tail", "payouts.v1", "--from-beginning", "--max", "3", "--timeout", "2.5"]
    )

    assert (args.from_beginning, args.max, args.timeout) == (True, 3, 2.5)


def test_stack_passes_its_options_through_to_run() -> None:
    args = parse_args(["stack", "--kafka-port", "29092"])

    assert args.run_args == ["--kafka-port", "29092"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dlq", "replay", "t.dlt"], "one of the arguments --event-id --all is required"),
        (["dlq", "replay", "t.dlt", "--all", "--event-id", "e"], "not allowed with argument"),
        (["dlq", "list"], "topic"),
        (["dlq", "list", "t.dlt", "--timeout", "0"], "must be positive"),
        (["outbox", "requeue", "listings"], "id"),
        (["outbox", "status"], "service"),
        (["timers", "failed"], "service"),
        (["outbox", "drop", "listings"], "invalid choice: 'drop'"),
    ],
)
def test_bad_operator_arguments_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_operator_commands_are_readable_by_default_and_json_on_request() -> None:
    listed = parse_args(["dlq", "list", "payouts.applications.v1.dlt"])
    replay = parse_args(["dlq", "replay", "x.dlt", "--event-id", "evt-1", "--json"])
    requeue = parse_args(["outbox", "requeue", "payouts", "evt-2"])

    assert (listed.topic, listed.json, listed.timeout) == ("payouts.applications.v1.dlt", False, 60)
    assert (replay.event_id, replay.all, replay.json) == ("evt-1", False, True)
    assert (requeue.service, requeue.id, requeue.json) == ("payouts", "evt-2", False)
