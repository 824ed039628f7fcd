"""Idempotency keys for mutating RPCs: the first outcome is stored per (caller, key) and replayed.

A record is reserved (pending, with a lease) before the servicer runs and completed with the
serialized response or the domain error afterwards. The same key with a different request is
refused with INVALID_ARGUMENT: the request, not the server state, is what is wrong, and retrying
it can never succeed. A duplicate arriving while the first is still running gets ABORTED.

The servicer's own transaction marks the record `applied` (`mark_applied`, a pre-commit hook of
the unit of work), under the reservation's owner: a request whose lease was taken over cannot
commit, and once applied a request is never run again, even if its response was never stored
(crash between commit and completion). A cancelled call (deadline, client gone, shutdown) keeps
running to its outcome, which is recorded: its work may commit in a worker thread regardless.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

import grpc
from bson import Binary, CodecOptions
from google.protobuf.message import Message
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from stint_runtime.clock import Clock, SystemClock
from stint_runtime.errors import (
    ConcurrencyConflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
)
from stint_runtime.persistence.mongo import Client, connect
from stint_runtime.persistence.unit_of_work import UnitOfWork
from stint_runtime.settings import StintSettings

IDEMPOTENCY_KEY_HEADER: Final = "idempotency-key"
COLLECTION: Final = "idempotency_keys"
MAX_KEY_LENGTH: Final = 128
IN_PROGRESS: Final = "a request with this idempotency key is in progress"
KEY_REUSED: Final = "idempotency key already used for a different request"
ALREADY_APPLIED: Final = (
    "the request with this idempotency key was applied but its response was lost; "
    "read the resource instead"
)
LEASE_LOST: Final = "another request with this idempotency key took over"

_log = logging.getLogger(__name__)
ResponseT = TypeVar("ResponseT", bound=Message)
Record = dict[str, Any]


def require_key(key: str | None) -> str:
    """The key if it is 1..128 printable ASCII characters; INVALID_ARGUMENT otherwise."""
    if not key:
        raise InvalidArgument(IDEMPOTENCY_KEY_HEADER, "metadata is required on mutating RPCs")
    if len(key) > MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in key):
        raise InvalidArgument(
            IDEMPOTENCY_KEY_HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def fingerprint(method: str, request: Message) -> str:
    """Identifies a request: the method and a SHA-256 of its deterministic serialization."""
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
    return f"{method}#{digest}"


def record_id(subject: str, key: str) -> str:
    """Scopes a key to its caller; the length prefix keeps (a:b, c) and (a, b:c) apart."""
    return f"{len(subject)}:{subject}:{key}"


@dataclass(frozen=True)
class Reservation:
    """The right to run a request: held by `owner` until completed, released or the lease ends."""

    record_id: str
    owner: str


_active: ContextVar[Reservation | None] = ContextVar("stint_idempotency", default=None)


@dataclass(frozen=True)
class StoredOutcome:
    """The outcome of the first request with a key: a serialized response or a domain error."""

    response: bytes | None
    code: grpc.StatusCode | None
    message: str

    def replay(self, response_type: type[ResponseT]) -> ResponseT:
        if self.code is not None:
            error = DomainError(self.message)
            error.code = self.code
            raise error
        return response_type.FromString(self.response or b"")


class IdempotencyStore:
    """Idempotency records in the service's own database (collection idempotency_keys)."""

    def __init__(
        self,
        collection: Collection[Record],
        *,
        ttl_seconds: int,
        lease_seconds: int,
        clock: Clock | None = None,
    ) -> None:
        self.collection: Collection[Record] = collection.with_options(
            codec_options=CodecOptions(tz_aware=True, tzinfo=UTC)
        )
        self.ttl = timedelta(seconds=ttl_seconds)
        self.lease = timedelta(seconds=lease_seconds)
        self.clock: Clock = clock or SystemClock()

    @classmethod
    def from_settings(
        cls, settings: StintSettings, client: Client | None = None, *, clock: Clock | None = None
    ) -> IdempotencyStore:
        database = (client or connect(settings))[settings.database_name]
        return cls(
            database[COLLECTION],
            ttl_seconds=settings.idempotency_ttl_seconds,
            lease_seconds=settings.idempotency_lease_seconds,
            clock=clock,
        )

    def ensure_indexes(self) -> None:
        """The database removes records once their wall-clock `expires_at` has passed.

        Wall clock, not the injected one: the database's TTL monitor knows only real time, and a
        test clock set in the past must not make fresh records look long expired.
        """
        try:
            self.collection.create_index(
                [("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0
            )
        except OperationFailure:
            # An index of an earlier version under the same name: replace it.
            self.collection.drop_index("expiry")
            self.collection.create_index(
                [("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0
            )

    def reserve(
        self, subject: str, key: str, request_fingerprint: str
    ) -> Reservation | StoredOutcome:
        """Reserves (subject, key) for this request, or returns the first request's outcome.

        Raises InvalidArgument when the key was used for another request and ConcurrencyConflict
        (ABORTED) while an earlier request with the key still holds its lease.
        """
        rid = record_id(subject, key)
        for _ in range(3):
            now = self.clock.now()
            owner = uuid.uuid4().hex
            try:
                self.collection.insert_one(
                    {
                        "_id": rid,
                        "subject": subject,
                        "fingerprint": request_fingerprint,
                        "state": "pending",
                        "owner": owner,
                        "lease_until": now + self.lease,
                        "created_at": now,
                        "expires_at": datetime.now(UTC) + self.ttl,
                    }
                )
                return Reservation(rid, owner)
            except DuplicateKeyError:
                pass
            existing = self.collection.find_one({"_id": rid})
            if existing is None:
                continue
            if existing["created_at"] + self.ttl <= now:
                self.collection.delete_one({"_id": rid, "created_at": existing["created_at"]})
                continue
            if existing["fingerprint"] != request_fingerprint:
                raise InvalidArgument(IDEMPOTENCY_KEY_HEADER, KEY_REUSED)
            if existing["state"] == "completed":
                code = existing.get("code")
                return StoredOutcome(
                    response=existing.get("response"),
                    code=grpc.StatusCode[code] if code else None,
                    message=existing.get("message", ""),
                )
            if existing["lease_until"] > now:
                raise ConcurrencyConflict(IN_PROGRESS)
            if existing.get("applied"):
                raise FailedPrecondition(ALREADY_APPLIED)
            # Compare-and-set on everything the decision above relied on: the same pending
            # owner, its lease still over, and still not applied (a commit that landed since
            # the read above must never be run a second time).
            taken = self.collection.find_one_and_update(
                {
                    "_id": rid,
                    "state": "pending",
                    "owner": existing["owner"],
                    "lease_until": {"$lte": now},
                    "applied": {"$ne": True},
                },
                {"$set": {"owner": owner, "lease_until": now + self.lease}},
            )
            if taken is not None:
                return Reservation(rid, owner)
        raise ConcurrencyConflict(IN_PROGRESS)

    def complete(
        self,
        reservation: Reservation,
        *,
        response: bytes | None = None,
        error: DomainError | None = None,
    ) -> None:
        """Stores the outcome to replay: the serialized response or the domain error."""
        outcome: Record = {"state": "completed", "completed_at": self.clock.now()}
        if error is not None:
            outcome.update(code=error.code.name, message=error.message)
        else:
            outcome["response"] = Binary(response or b"")
        result = self.collection.update_one(
            {"_id": reservation.record_id, "owner": reservation.owner},
            {"$set": outcome, "$unset": {"lease_until": ""}},
        )
        if result.matched_count == 0:
            _log.warning("idempotency lease was lost before the request completed")

    def release(self, reservation: Reservation) -> None:
        """Forgets a reservation whose request failed unapplied, so a retry can run."""
        self.collection.delete_one(
            {
                "_id": reservation.record_id,
                "owner": reservation.owner,
                "state": "pending",
                "applied": {"$ne": True},
            }
        )

    @staticmethod
    @contextmanager
    def acting_for(reservation: Reservation) -> Iterator[None]:
        """Transactions committed inside this block apply `reservation`'s request."""
        token = _active.set(reservation)
        try:
            yield
        finally:
            _active.reset(token)

    @staticmethod
    def mark_applied(uow: UnitOfWork) -> None:
        """Pre-commit hook: the running request's record is marked applied in `uow`'s transaction.

        Raises ConcurrencyConflict (the transaction aborts) when the reservation was taken over.
        """
        reservation = _active.get()
        if reservation is None:
            return
        result = uow.db[COLLECTION].update_one(
            {"_id": reservation.record_id, "owner": reservation.owner},
            {"$set": {"applied": True}},
            session=uow.session,
        )
        if result.matched_count == 0:
            raise ConcurrencyConflict(LEASE_LOST)

    async def execute(
        self,
        *,
        subject: str,
        key: str,
        method: str,
        request: Message,
        response_type: type[ResponseT],
        handler: Callable[[], Awaitable[ResponseT]],
    ) -> ResponseT:
        """Runs `handler` once per (subject, key); replays its first outcome for duplicates."""
        outcome = await asyncio.to_thread(self.reserve, subject, key, fingerprint(method, request))
        if isinstance(outcome, StoredOutcome):
            return outcome.replay(response_type)
        # Shielded: if the call is cancelled, the work still runs to its outcome and is recorded.
        return await asyncio.shield(asyncio.ensure_future(self._run(outcome, handler)))

    async def _run(
        self, reservation: Reservation, handler: Callable[[], Awaitable[ResponseT]]
    ) -> ResponseT:
        token = _active.set(reservation)  # the servicer's transactions mark it applied
        try:
            response = await handler()
        except DomainError as error:
            if error.code == grpc.StatusCode.ABORTED:
                # A lost race is worth retrying with the same key: do not pin the refusal.
                await self._release_quietly(reservation)
            else:
                await asyncio.to_thread(self.complete, reservation, error=error)
            raise
        except BaseException:
            await self._release_quietly(reservation)
            raise
        finally:
            _active.reset(token)
        try:
            serialized = response.SerializeToString(deterministic=True)
            await asyncio.to_thread(self.complete, reservation, response=serialized)
        except PyMongoError:
            _log.exception("could not store an idempotent response; a replay will be refused")
        return response

    async def _release_quietly(self, reservation: Reservation) -> None:
        try:
            await asyncio.to_thread(self.release, reservation)
        except PyMongoError:
            _log.exception("could not release an idempotency reservation; its lease will end")
