"""JSON logs carry service and trace ids; PII never reaches the output, wherever it was put."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from opentelemetry.sdk.trace import TracerProvider
from stint_runtime.logging import configure_logging, is_sensitive_key, redact_text
from stint_runtime.settings import StintSettings, load_settings

EMAIL = "jane.doe+work@example.org"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXZhbHVl"
CARD = "4111 1111 1111 1111"
ACCOUNT = "000123456789012"


@pytest.fixture
def settings() -> StintSettings:
    return load_settings("listings")


@pytest.fixture
def output(settings: StintSettings) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _assert_no_pii(text: str) -> None:
    for secret in (EMAIL, JWT, CARD, ACCOUNT, "hunter2", "s3cr3t-value"):
        assert secret not in text, secret


def test_a_json_entry_has_the_standard_fields(output: io.StringIO) -> None:
    logging.getLogger("stint.test").info(
        "listing %s created", "lst-1", extra={"listing_id": "lst-1"}
    )
    (entry,) = _entries(output)
    assert entry["message"] == "listing lst-1 created"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "stint.test"
    assert entry["service"] == "listings"
    assert entry["listing_id"] == "lst-1"
    assert entry["timestamp"].endswith("+00:00")
    assert entry["trace_id"] is None


def test_trace_and_span_ids_come_from_the_current_span(output: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("stint.test").warning("inside a span")
    (entry,) = _entries(output)
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_pii_in_the_message_is_redacted(output: io.StringIO) -> None:
    logging.getLogger("stint.test").info(
        f"contact {EMAIL} with Bearer {JWT}, card {CARD}, account {ACCOUNT}, password=hunter2"
    )
    (entry,) = _entries(output)
    _assert_no_pii(output.getvalue())
    assert "[REDACTED_EMAIL]" in entry["message"]
    assert "[REDACTED_NUMBER]" in entry["message"]


def test_pii_in_arguments_is_redacted(output: io.StringIO) -> None:
    log = logging.getLogger("stint.test")
    log.info("user %s paid with %s", EMAIL, {"card": CARD, "amount_minor": 100})
    log.info("named %(email)s", {"email": EMAIL})
    _assert_no_pii(output.getvalue())
    assert "'amount_minor': 100" in _entries(output)[0]["message"]


def test_pii_in_extra_fields_is_redacted(output: io.StringIO) -> None:
    logging.getLogger("stint.test").info(
        "registered",
        extra={
            "email": EMAIL,
            "payout": {"iban": "DE89370400440532013000", "routing_number": "021000021"},
            "authorization": f"Bearer {JWT}",
            "clientSecret": "s3cr3t-value",
            "note": f"reach me at {EMAIL}",
            "user_id": "u-1",
        },
    )
    (entry,) = _entries(output)
    _assert_no_pii(output.getvalue())
    assert "DE89370400440532013000" not in output.getvalue()
    assert entry["email"] == "[REDACTED]"
    assert entry["payout"] == {"iban": "[REDACTED]", "routing_number": "[REDACTED]"}
    assert entry["user_id"] == "u-1"


def test_pii_in_exceptions_is_redacted(output: io.StringIO) -> None:
    try:
        raise ValueError(f"no account for {EMAIL}")
    except ValueError:
        logging.getLogger("stint.test").exception("lookup failed")
    (entry,) = _entries(output)
    assert "ValueError" in entry["exception"]
    _assert_no_pii(output.getvalue())


def test_text_format_is_redacted_too(settings: StintSettings) -> None:
    stream = io.StringIO()
    handler = configure_logging(settings.model_copy(update={"log_format": "text"}), stream=stream)
    try:
        logging.getLogger("stint.test").info("hello %s", EMAIL, extra={"token": JWT})
    finally:
        logging.getLogger().removeHandler(handler)
    line = stream.getvalue()
    assert "hello [REDACTED_EMAIL]" in line
    assert "[listings -]" in line
    _assert_no_pii(line)


def test_a_bad_format_string_is_logged_not_raised(output: io.StringIO) -> None:
    logging.getLogger("stint.test").info("count %d for %s", "many", EMAIL)
    (entry,) = _entries(output)
    assert entry["message"].startswith("count %d for %s")
    _assert_no_pii(output.getvalue())


def test_configuring_twice_keeps_one_handler(settings: StintSettings) -> None:
    first = configure_logging(settings, stream=io.StringIO())
    second = configure_logging(settings, stream=io.StringIO())
    root = logging.getLogger()
    try:
        assert first not in root.handlers
        assert second in root.handlers
    finally:
        root.removeHandler(second)


@pytest.mark.parametrize(
    "key",
    ["email", "user_email", "accessToken", "Authorization", "password", "iban", "card_number"],
)
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["user_id", "listing_id", "amount_minor", "discard", "status"])
def test_ordinary_keys(key: str) -> None:
    assert not is_sensitive_key(key)


def test_ids_and_short_numbers_survive() -> None:
    text = "listing lst-42 version 7 fee 25000 USD trace 4bf92f3577b34da6a3ce929d0e0e4736"
    assert redact_text(text) == text


class _Partition(NamedTuple):
    topic: str
    partition: int


def test_named_tuple_arguments_keep_their_type_and_are_redacted(output: io.StringIO) -> None:
    logging.getLogger("stint.test").info(
        "joined %s with %s", {_Partition("alice@example.com", 1)}, _Partition("t", 2)
    )
    entry = json.loads(output.getvalue())
    assert "alice@example.com" not in entry["message"]
    assert "_Partition(topic='t', partition=2)" in entry["message"]


def test_an_argument_that_cannot_be_copied_never_breaks_the_caller(output: io.StringIO) -> None:
    class Odd(tuple[int, int]):
        def __new__(cls) -> Odd:
            return super().__new__(cls, (1, 2))

    logging.getLogger("stint.test").info("odd %s", Odd())
    assert "odd (1, 2)" in json.loads(output.getvalue())["message"]
