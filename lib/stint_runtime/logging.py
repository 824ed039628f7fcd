"""Structured logs on stdout (JSON by default) with trace ids; PII is redacted from every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from stint_runtime.settings import StintSettings

REDACTED = "[REDACTED]"

_SENSITIVE_KEY = re.compile(
    r"(?:^|_)(?:e_?mail|token|authorization|auth|password|passwd|secret|account_number|"
    r"iban|routing_number|card|card_number|cvv|cvc|api_key|cookie|credentials?|ssn)(?:_|$)"
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_KEY_VALUE = re.compile(
    r"(?i)\b(e-?mail|[a-z_]*token|authorization|password|passwd|[a-z_]*secret|account_number|"
    r"iban|routing_number|card(?:_number)?|api_key)(\"?\s*[=:]\s*\"?)([^\s\",;&}]+)"
)
_MESSAGE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[REDACTED_JWT]"),
    (
        re.compile(r"[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        "[REDACTED_EMAIL]",
    ),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), "[REDACTED_IBAN]"),
    (re.compile(r"\b\d(?:[ -]?\d){11,}\b"), "[REDACTED_NUMBER]"),
)

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


def is_sensitive_key(key: str) -> bool:
    """Whether a field with this name holds PII or a credential (email, token, card, ...)."""
    normalized = _CAMEL_BOUNDARY.sub("_", key).lower().replace("-", "_")
    return _SENSITIVE_KEY.search(normalized) is not None


def redact_text(text: str) -> str:
    """Replaces emails, bearer tokens, JWTs, IBANs, long digit runs and `secret=value` pairs."""
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for pattern, replacement in _MESSAGE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of `value`: sensitive keys' values replaced, PII patterns removed from strings."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and is_sensitive_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, tuple) and hasattr(value, "_make"):
        return value._make(redact(item) for item in value)  # a namedtuple
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(redact(item) for item in value)
    return value


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with `extra=`."""
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRIBUTES}


class RedactingFilter(logging.Filter):
    """Redacts a record in place: message, arguments, `extra=` fields and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            if record.args:
                args = record.args
                record.args = (
                    redact(args) if isinstance(args, Mapping) else tuple(map(redact, args))
                )
            message = record.getMessage()
        except Exception:
            # A bad format string must not raise into the caller's code; keep what was given.
            message = f"{record.msg} {record.args!r}"
        record.msg = redact_text(message)
        record.args = None
        for key, value in extra_fields(record).items():
            setattr(record, key, REDACTED if is_sensitive_key(key) else redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def _trace_ids() -> tuple[str | None, str | None]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, service, trace ids, extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = _trace_ids()
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "trace_id": trace_id,
            "span_id": span_id,
        }
        entry.update(extra_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(service)s %(trace_id)s] %(message)s"


class TextFormatter(logging.Formatter):
    """Human-readable lines for local development, with the trace id when there is one."""

    def __init__(self, service: str) -> None:
        super().__init__(_TEXT_FORMAT)
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        record.service = self.service
        record.trace_id = _trace_ids()[0] or "-"
        line = super().format(record)
        extras = {k: v for k, v in extra_fields(record).items() if k not in {"service", "trace_id"}}
        return f"{line} {json.dumps(extras, default=str)}" if extras else line


class _StintHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


def configure_logging(settings: StintSettings, *, stream: TextIO | None = None) -> logging.Handler:
    """Routes every log record through one redacting handler on stdout; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StintHandler)]:
        root.removeHandler(handler)
        handler.close()
    handler = _StintHandler(stream if stream is not None else sys.stdout)
    handler.addFilter(RedactingFilter())
    formatter: logging.Formatter = (
        JsonFormatter(settings.service_name)
        if settings.log_format == "json"
        else TextFormatter(settings.service_name)
    )
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler
