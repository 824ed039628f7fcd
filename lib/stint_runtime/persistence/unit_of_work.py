"""A unit of work: one MongoDB transaction holding a state change and the events it causes."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from bson import Binary
from google.protobuf.message import Message
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern
from stint.common.v1.events_pb2 import EventEnvelope

from stint_runtime.clock import Clock
from stint_runtime.errors import AlreadyExists, ConcurrencyConflict
from stint_runtime.messaging.envelope import new_envelope, topic_of
from stint_runtime.persistence.mongo import Client, Document

T = TypeVar("T")
log = logging.getLogger("stint.persistence")

OUTBOX = "outbox"
TRANSIENT = "TransientTransactionError"
UNKNOWN_COMMIT = "UnknownTransactionCommitResult"


class _OrderKeys:
    """Outbox ordering keys: nanoseconds since the epoch, strictly increasing within a process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return self._last


order_keys = _OrderKeys()


def outbox_record(envelope: EventEnvelope, topic: str) -> Document:
    """How an event waits in the outbox until the relay has published it."""
    return {
        "_id": envelope.id,
        "topic": topic,
        "key": envelope.subject,
        "type": envelope.type,
        "sequence": envelope.sequence,
        "order": order_keys.next(),
        "envelope": Binary(envelope.SerializeToString()),
        "created_at": datetime.now(UTC),
        "published_at": None,
    }


class UnitOfWork:
    """Writes through `session` and emitted events commit together or not at all."""

    def __init__(
        self,
        db: Database[Document],
        session: ClientSession,
        source: str,
        clock: Clock,
        commit_attempts: int,
        before_commit: Sequence[Callable[[UnitOfWork], None]] = (),
    ) -> None:
        self.db = db
        self.session = session
        self.source = source
        self.clock = clock
        self.emitted: list[EventEnvelope] = []
        self.committed = False
        self._commit_attempts = commit_attempts
        self._before_commit = before_commit

    def collection(self, name: str) -> Collection[Document]:
        return self.db[name]

    def emit(
        self, event: Message, *, subject: str, sequence: int = 0, topic: str | None = None
    ) -> EventEnvelope:
        """Stage `event` in the outbox; the topic defaults to the event's declared one."""
        envelope = new_envelope(
            event, source=self.source, subject=subject, clock=self.clock, sequence=sequence
        )
        self.db[OUTBOX].insert_one(
            outbox_record(envelope, topic or topic_of(event)), session=self.session
        )
        self.emitted.append(envelope)
        return envelope

    def find_one(self, collection: str, query: Mapping[str, Any]) -> Document | None:
        return self.db[collection].find_one(query, session=self.session)

    def insert(self, collection: str, document: Document) -> None:
        """Insert; an existing _id (or other unique key) becomes AlreadyExists."""
        try:
            self.db[collection].insert_one(document, session=self.session)
        except DuplicateKeyError:
            raise AlreadyExists(f"{collection} {document.get('_id')} already exists") from None

    def replace_if_version(self, collection: str, document: Document, expected_version: int) -> int:
        """Replace the document if its stored `version` is still `expected_version`.

        The stored copy gets version `expected_version + 1`, which is returned; a lost race
        raises ConcurrencyConflict.
        """
        new_version = expected_version + 1
        result = self.db[collection].replace_one(
            {"_id": document["_id"], "version": expected_version},
            {**document, "version": new_version},
            session=self.session,
        )
        if result.matched_count == 0:
            raise ConcurrencyConflict(
                f"{collection} {document['_id']} changed since version {expected_version}"
            )
        return new_version

    def commit(self) -> None:
        """Run the pre-commit hooks in the transaction, then commit (retried while unknown)."""
        for hook in self._before_commit:
            hook(self)
        for attempt in itertools.count(1):
            try:
                self.session.commit_transaction()
                break
            except PyMongoError as exc:
                if not exc.has_error_label(UNKNOWN_COMMIT) or attempt >= self._commit_attempts:
                    raise
                log.warning("transaction commit outcome unknown; retrying", exc_info=True)
        self.committed = True


class UnitOfWorkFactory:
    """Opens units of work on one database: `with factory() as uow: ...; uow.commit()`."""

    def __init__(
        self,
        client: Client,
        database_name: str,
        source: str,
        clock: Clock,
        *,
        max_attempts: int = 5,
    ) -> None:
        self.client = client
        self.db: Database[Document] = client[database_name]
        self.source = source
        self.clock = clock
        self.max_attempts = max_attempts
        self._commit_listeners: list[Callable[[UnitOfWork], None]] = []
        self._before_commit: list[Callable[[UnitOfWork], None]] = []

    def add_before_commit(self, hook: Callable[[UnitOfWork], None]) -> None:
        """Call `hook` inside every transaction just before it commits; raising aborts it."""
        self._before_commit.append(hook)

    def add_commit_listener(self, listener: Callable[[UnitOfWork], None]) -> None:
        """Call `listener` (in the committing thread) after every successful commit."""
        self._commit_listeners.append(listener)

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        with self.client.start_session() as session:
            session.start_transaction(
                read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
            )
            uow = UnitOfWork(
                self.db, session, self.source, self.clock, self.max_attempts, self._before_commit
            )
            try:
                yield uow
            finally:
                if not uow.committed and session.in_transaction:
                    session.abort_transaction()
            if uow.committed:
                self._notify(uow)

    def _notify(self, uow: UnitOfWork) -> None:
        for listener in self._commit_listeners:
            try:
                listener(uow)
            except Exception:
                log.exception("commit listener failed")

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a unit of work and commit; the whole unit is retried on transient errors."""
        for attempt in itertools.count(1):
            try:
                with self() as uow:
                    result = fn(uow)
                    uow.commit()
                return result
            except PyMongoError as exc:
                if not exc.has_error_label(TRANSIENT):
                    raise
                if attempt >= self.max_attempts:
                    raise ConcurrencyConflict(
                        "the change kept conflicting with concurrent changes; retry it"
                    ) from exc
                log.info("transient transaction error; retrying", extra={"attempt": attempt})
                time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311 - jitter only
        raise AssertionError("unreachable")
