"""The embedded stack serves Kafka, MongoDB and SMTP on loopback and leaves no process behind."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pymongo import MongoClient
from stint_runtime.stack.embedded import EmbeddedStack, Endpoints
from stint_runtime.stack.processes import PortInUseError
from stint_runtime.stack.smtp_sink import received_messages

from tests.support.stack_processes import ProcessId, descendants, wait_all_gone

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedStack]:
    """A stack of this module's own, so its processes can be checked after it stops."""
    embedded = EmbeddedStack(tmp_path_factory.mktemp("own-stack"))
    with embedded:
        yield embedded
    assert not [p.name for p in embedded.processes if p.running()]


@pytest.fixture(scope="module")
def endpoints(stack: EmbeddedStack) -> Endpoints:
    return stack.endpoints


async def test_a_record_produced_to_kafka_is_consumed(endpoints: Endpoints) -> None:
    topic = f"stack-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"hello", key=b"k1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=endpoints.kafka_bootstrap_servers)
    await consumer.start()
    try:
        partition = TopicPartition(topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        batches = await consumer.getmany(partition, timeout_ms=10_000, max_records=1)
    finally:
        await consumer.stop()

    records = batches.get(partition, [])
    assert [(r.key, r.value) for r in records] == [(b"k1", b"hello")]


def test_a_document_inserted_in_a_transaction_is_found(endpoints: Endpoints) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(endpoints.mongodb_uri)
    try:
        collection = client["stack_test"]["things"]
        with client.start_session() as session, session.start_transaction():
            inserted = collection.insert_one({"name": "thing"}, session=session).inserted_id

        found = collection.find_one({"_id": inserted})
    finally:
        client.close()

    assert found is not None
    assert found["name"] == "thing"


def test_a_mail_sent_to_the_smtp_sink_is_kept_in_its_maildir(stack: EmbeddedStack) -> None:
    message = EmailMessage()
    message["From"] = "noreply@stint.test"
    message["To"] = "someone@stint.test"
    message["Subject"] = f"kept {uuid.uuid4().hex}"
    message.set_content("body")

    with smtplib.SMTP(stack.endpoints.smtp_host, stack.endpoints.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)

    assert any(str(message["Subject"]).encode() in m for m in received_messages(stack.maildir))


def test_stopping_the_stack_ends_every_process_it_started(tmp_path: Path) -> None:
    stack = EmbeddedStack(tmp_path)
    stack.start()
    started = {ProcessId.of(p.pid) for p in stack.processes if p.pid is not None}
    assert None not in started
    assert len(started) == 3

    stack.stop()

    assert wait_all_gone({p for p in started if p is not None}, timeout=5) == []


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = EmbeddedStack(tmp_path, mongodb_port=port)

        with pytest.raises(PortInUseError) as refused:
            stack.start()

    assert (refused.value.what, refused.value.port) == ("mongodb", port)
    assert not any(p.running() for p in stack.processes)


PARENT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from stint_runtime.stack.embedded import EmbeddedStack

    stack = EmbeddedStack(Path(sys.argv[1]))
    stack.start()
    print(json.dumps([p.pid for p in stack.processes]), flush=True)
    time.sleep(600)
    """
)


def test_a_stack_whose_parent_is_killed_leaves_no_children(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline() or "[]")
        assert len(pids) == 3, "the parent did not report its stack"
        children = descendants(parent.pid)
        assert {c.pid for c in children} >= set(pids)

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)

        left = wait_all_gone(children, timeout=10)
        assert left == [], f"still running after the parent died: {[p.command() for p in left]}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
