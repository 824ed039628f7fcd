"""The subscriber under faults: corrupt payloads, outages, an unreachable dead-letter topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from aiokafka.errors import KafkaTimeoutError
from google.protobuf.message import Message
from google.protobuf.wrappers_pb2 import StringValue
from pymongo.errors import AutoReconnect, NotPrimaryError, OperationFailure
from stint.common.v1.events_pb2 import EventEnvelope
from stint_runtime.errors import ConcurrencyConflict
from stint_runtime.messaging.publisher import KafkaPublisher
from stint_runtime.messaging.subscriber import DATABASE_PART, DEAD_LETTER_PART
from stint_runtime.messaging.topics import dead_letter_topic
from stint_runtime.persistence.unit_of_work import UnitOfWork, UnitOfWorkFactory
from stint_runtime.readiness import Readiness
from stint_runtime.stack.embedded import Endpoints

from tests.support.messaging_kit import (
    MAX_ATTEMPTS,
    SubscriberMaker,
    committed_offset,
    count,
    counts,
    end_offset,
    envelope_of,
    header,
    read_topic,
    wait_committed,
    wait_for,
)

pytestmark = pytest.mark.integration

STRING = StringValue.DESCRIPTOR.full_name


async def test_a_handled_event_with_corrupt_data_is_dead_lettered_and_the_service_keeps_going(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    corrupt = envelope_of(StringValue(value="x"), "s-corrupt")
    corrupt.data.value = b"\xff\xff"  # a well-formed envelope of a handled type, garbage inside
    await publisher.publish(topic, b"s-corrupt", corrupt.SerializeToString())
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="ok"), "s-ok"))

    subscriber = subscribe({STRING: count})
    await subscriber.start()
    await wait_committed(infra.kafka_bootstrap_servers, topic, 2)

    assert counts(factory) == {"s-ok": 1}
    [dead] = await read_topic(
        infra.kafka_bootstrap_servers, dead_letter_topic(topic, topic), until=lambda rs: len(rs) > 0
    )
    assert EventEnvelope.FromString(dead.value).id == corrupt.id
    assert (header(dead, "dlt-reason") or "").startswith("undecodable: DecodeError")
    assert header(dead, "dlt-attempts") == "1"
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="later"), "s-later"))
    await wait_committed(
        infra.kafka_bootstrap_servers, topic, 3
    )  # the consumer is still alive and consuming
    assert counts(factory) == {"s-ok": 1, "s-later": 1}


TRANSIENT_FAILURES: Sequence[Exception] = (
    AutoReconnect("connection refused"),
    NotPrimaryError("not primary"),
    OperationFailure("write conflict", code=112),
    ConcurrencyConflict("the change kept conflicting with concurrent changes; retry it"),
)


@pytest.mark.parametrize("failure", TRANSIENT_FAILURES, ids=lambda e: type(e).__name__)
async def test_an_outage_is_retried_for_as_long_as_it_lasts_and_never_dead_letters(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
    failure: Exception,
) -> None:
    outage = {"failures_left": MAX_ATTEMPTS * 4}  # far more than the attempt budget

    def during_outage(event: Message, envelope: EventEnvelope, uow: UnitOfWork) -> None:
        if outage["failures_left"] > 0:
            outage["failures_left"] -= 1
            raise failure
        count(event, envelope, uow)

    readiness = Readiness(grace_seconds=0)
    seen_degraded: list[str] = []

    def observe() -> bool:
        seen_degraded.extend(readiness.failing())
        return outage["failures_left"] == 0

    await publisher.publish_envelope(topic, envelope_of(StringValue(value="a"), "s1"))
    await subscribe({STRING: during_outage}, readiness=readiness).start()
    await wait_for(observe, limit=60, what="the outage to be retried through")
    await wait_committed(infra.kafka_bootstrap_servers, topic, 1)

    assert counts(factory) == {"s1": 1}
    assert DATABASE_PART in seen_degraded
    assert readiness.ready
    assert await end_offset(infra.kafka_bootstrap_servers, dead_letter_topic(topic, topic)) == 0


class UnreachableDeadLetters:
    """The real publisher behind a switch: while `down`, every publish times out."""

    def __init__(self, real: KafkaPublisher) -> None:
        self.real = real
        self.down = True
        self.failed_calls = 0

    async def publish(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        if self.down:
            self.failed_calls += 1
            raise KafkaTimeoutError()
        await self.real.publish(topic, key, value, headers)


async def test_a_dead_letter_topic_out_of_reach_reports_not_ready_and_holds_the_offset(
    infra: Endpoints,
    topic: str,
    publisher: KafkaPublisher,
    factory: UnitOfWorkFactory,
    subscribe: SubscriberMaker,
) -> None:
    dead_letters = UnreachableDeadLetters(publisher)
    readiness = Readiness(grace_seconds=0)
    await publisher.publish(topic, b"k", b"\x00not an envelope")
    await publisher.publish_envelope(topic, envelope_of(StringValue(value="ok"), "s-ok"))
    subscriber = subscribe({STRING: count}, readiness=readiness, dead_letters=dead_letters)
    await subscriber.start()

    await wait_for(lambda: dead_letters.failed_calls >= 3, limit=30, what="failed publishes")
    assert DEAD_LETTER_PART in readiness.failing()
    # Between attempts the processing lock is free: a rebalance is never held up by the wait.
    async with asyncio.timeout(5), subscriber.processing:
        pass
    assert await committed_offset(infra.kafka_bootstrap_servers, topic, topic) is None
    assert counts(factory) == {}

    dead_letters.down = False
    await wait_committed(infra.kafka_bootstrap_servers, topic, 2)
    assert readiness.ready
    assert counts(factory) == {"s-ok": 1}
    [dead] = await read_topic(
        infra.kafka_bootstrap_servers, dead_letter_topic(topic, topic), until=lambda rs: len(rs) > 0
    )
    assert dead.value == b"\x00not an envelope"
