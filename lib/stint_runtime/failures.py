"""Transient failures (an outage, a lost race: retry until it passes) versus deterministic ones.

Consumers, the outbox relay and timers retry transient failures for as long as it takes and
spend their bounded attempt budget (then a dead letter, a parked record or a failed timer)
only on failures that the same input would meet again.
"""

from __future__ import annotations

import grpc
from aiokafka.errors import KafkaError, KafkaTimeoutError
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WaitQueueTimeoutError,
    WTimeoutError,
)

from stint_runtime.errors import DomainError

TRANSIENT_LABELS = (
    "TransientTransactionError",
    "RetryableWriteError",
    "UnknownTransactionCommitResult",
)
# Server codes that mean "not now" rather than "never": write conflicts, elections, shutdowns,
# interrupted operations, exceeded time limits.
TRANSIENT_CODES = frozenset(
    {6, 7, 24, 50, 89, 91, 112, 189, 202, 225, 244, 251, 262, 10107, 11600, 11602, 13435, 13436}
)


def is_transient(error: BaseException) -> bool:
    """True when retrying the same work later can succeed without anything being changed."""
    if isinstance(error, DomainError):
        return error.code in (grpc.StatusCode.ABORTED, grpc.StatusCode.UNAVAILABLE)
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True  # AutoReconnect, NotPrimaryError, NetworkTimeout, server selection
    if isinstance(error, WaitQueueTimeoutError):
        return True
    if isinstance(error, PyMongoError):
        if any(error.has_error_label(label) for label in TRANSIENT_LABELS):
            return True
        return isinstance(error, OperationFailure) and error.code in TRANSIENT_CODES
    if isinstance(error, KafkaTimeoutError):
        return True
    if isinstance(error, KafkaError):
        return bool(getattr(error, "retriable", False))
    return isinstance(error, TimeoutError | ConnectionError)
