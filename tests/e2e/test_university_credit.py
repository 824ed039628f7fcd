"""The integrator example: the university-credit FastStream consumer, outside the services,
credits the verified completion records of its students after a real journey on the platform,
once each, and ignores everyone else's."""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

import pytest
from stint.applications.v1 import service_pb2 as app
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import load_settings

from examples.university_credit.app import Config, create_app
from tests.support.waiting import eventually
from tools.demo.__main__ import drive
from tools.demo.gateway import Gateway, User
from tools.demo.people import cast
from tools.demo.university import University, serving

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
CREDIT_WAIT = 60.0


def rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


async def share_records(
    platform: RunningPlatform, journey_engagements: dict[str, str], shared: Path
) -> list[str]:
    """What each student does in the Stint app: fetch their record and hand it to the university."""
    gateway = Gateway(platform.grpc, load_settings("university-test"))
    ids = []
    try:
        for student, engagement_id in journey_engagements.items():
            reply = await gateway.call(
                "applications",
                "GetCompletionRecord",
                app.GetCompletionRecordRequest(engagement_id=engagement_id),
                User(student, "student"),
            )
            (shared / f"{reply.record.id}.binpb").write_bytes(reply.record.SerializeToString())
            ids.append(reply.record.id)
    finally:
        await gateway.close()
    return ids


async def test_the_university_credits_its_students_verified_records_once(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    run = secrets.token_hex(3)
    roster = frozenset(s.user.sub for s in cast(run).students)
    shared = tmp_path / "shared"
    shared.mkdir()
    credits_csv = tmp_path / "credits.csv"
    config = Config(
        platform.kafka_bootstrap_servers,
        platform.grpc["applications"],
        shared,
        credits_csv,
        roster,
        group_id=f"university-credit-{run}",
    )
    _, broker = create_app(config)
    await broker.start()
    try:
        with serving(University()) as university:
            journey, ok = await drive(platform, run, university)
        assert ok, "the journey did not complete"
        engagements = {
            journey.student[name].user.sub: journey.engs[key].id
            for key, name in (("dashboard-1", "Amara"), ("dashboard-2", "Bo"))
        }
        records = await share_records(platform, engagements, shared)

        await eventually(
            lambda: len(rows(credits_csv)) >= 2,
            limit=CREDIT_WAIT,
            what=lambda: f"two credit lines in {credits_csv}: {rows(credits_csv)}",
        )
    finally:
        await broker.stop()
    credited = rows(credits_csv)
    assert sorted(r["record_id"] for r in credited) == sorted(records)
    by_student = {r["student_id"]: r for r in credited}
    assert set(by_student) == set(engagements)
    amara, bo = (journey.student[n].user.sub for n in ("Amara", "Bo"))
    assert by_student[amara]["outcome"] == "APPROVED"
    assert by_student[bo]["outcome"] == "RESOLVED"
    assert by_student[amara]["hours"] == "20"
    assert by_student[amara]["project"] == "Sales dashboard in Python"
    assert by_student[amara]["engagement_id"] == engagements[amara]
