"""The university-credit example on FastStream's in-memory broker: a record not shared yet does
not block the partition (it waits aside and is credited once shared), and employer text cannot
become a spreadsheet formula."""

from __future__ import annotations

import csv
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faststream.kafka import TestKafkaBroker
from google.protobuf.any_pb2 import Any as AnyMessage
from stint.applications.v1 import resources_pb2
from stint.applications.v1.events_pb2 import EngagementCompleted
from stint.common.v1.events_pb2 import EventEnvelope
from stint.topics import APPLICATIONS

from examples.university_credit.app import Config, create_app
from examples.university_credit.awaiting import AwaitingShare
from examples.university_credit.credits import append_credit
from examples.university_credit.records import SigningKeys
from tests.support.waiting import eventually

KEY = Ed25519PrivateKey.generate()


def keys() -> SigningKeys:
    return SigningKeys("unused:1", {"k1": KEY.public_key()})


def record(
    student: str, engagement: str, title: str = "Dashboard"
) -> resources_pb2.CompletionRecord:
    record_id = f"rec-{engagement}"
    claim = resources_pb2.CompletionClaim(
        engagement_id=engagement,
        listing_title=title,
        student_id=student,
        estimated_hours=20,
        record_id=record_id,
        key_id="k1",
    )
    claim_bytes = claim.SerializeToString()
    return resources_pb2.CompletionRecord(
        id=record_id, claim_bytes=claim_bytes, signature=KEY.sign(claim_bytes), key_id="k1"
    )


def completed(student: str, engagement: str) -> bytes:
    event = EngagementCompleted(engagement_id=engagement, completion_record_id=f"rec-{engagement}")
    event.engagement.student_id = student
    data = AnyMessage()
    data.Pack(event)
    envelope = EventEnvelope(type=EngagementCompleted.DESCRIPTOR.full_name, data=data)
    return envelope.SerializeToString()


def share(shared: Path, rec: resources_pb2.CompletionRecord) -> None:
    (shared / f"{rec.id}.binpb").write_bytes(rec.SerializeToString())


def rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


async def test_a_record_not_shared_yet_waits_aside_and_the_next_student_is_credited(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    credits_csv = tmp_path / "credits.csv"
    config = Config(
        "127.0.0.1:1",
        "unused:1",
        shared,
        credits_csv,
        frozenset({"s-amara", "s-bo"}),
        awaiting_share=tmp_path / "awaiting.json",
        retry_seconds=0.05,
    )
    _, broker = create_app(config, keys())
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(completed("s-amara", "e-1"), topic=APPLICATIONS)
        assert AwaitingShare(tmp_path / "awaiting.json").pending() == {"rec-e-1": "e-1"}
        share(shared, record("s-bo", "e-2"))
        await test_broker.publish(completed("s-bo", "e-2"), topic=APPLICATIONS)
        assert [r["record_id"] for r in rows(credits_csv)] == ["rec-e-2"], "Bo is not held up"
        share(shared, record("s-amara", "e-1"))
        await eventually(
            lambda: len(rows(credits_csv)) == 2, limit=10, what=lambda: str(rows(credits_csv))
        )
        await eventually(lambda: not AwaitingShare(tmp_path / "awaiting.json").pending())
    assert sorted(r["record_id"] for r in rows(credits_csv)) == ["rec-e-1", "rec-e-2"]


async def test_employer_text_that_looks_like_a_formula_is_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "credits.csv"
    for n, title in enumerate(
        ['=HYPERLINK("http://x.example","click")', "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    ):
        rec = record("s-amara", f"e-{n}", title)
        claim = await keys().verify(rec)
        assert append_credit(path, claim)
        assert not append_credit(path, claim), "credited once"
    projects = [r["project"] for r in rows(path)]
    assert all(p.startswith("'") for p in projects), projects
    assert projects[0] == '\'=HYPERLINK("http://x.example","click")'
