"""The README's command examples marked `<!-- tested: ... -->` work as printed, against a
running platform (its gRPC addresses put where the README names the default ports)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from stint.listings.v1 import service_pb2 as listings
from stint.topics import LISTINGS
from stint_runtime.running import RunningPlatform
from stint_runtime.settings import DEFAULT_GRPC_PORTS, load_settings

from tests.support.messaging_kit import read_topic
from tools.demo.gateway import Gateway, User
from tools.demo.listings import dashboard

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REPOSITORY = Path(__file__).resolve().parents[2]
MARKER = "<!-- tested: tests/e2e/test_readme_examples.py -->"
BLOCK = re.compile(re.escape(MARKER) + r"\s*```sh\n(.*?)```", re.DOTALL)


def readme_commands() -> list[str]:
    text = (REPOSITORY / "README.md").read_text()
    blocks = BLOCK.findall(text)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def as_run_here(command: str, platform: RunningPlatform, record: Path) -> str:
    for name, port in DEFAULT_GRPC_PORTS.items():
        command = command.replace(f"127.0.0.1:{port}", platform.grpc[name])
    return command.replace("record.binpb", str(record))


def test_the_readme_marks_its_grpcurl_and_decoding_examples() -> None:
    commands = readme_commands()
    assert sum("grpcurl" in c for c in commands) >= 4, commands
    assert any(c.startswith(".venv/bin/buf convert") for c in commands), commands
    assert any("grpc_tools.protoc" in c for c in commands), commands


@pytest.fixture
async def record(platform: RunningPlatform, tmp_path: Path) -> Path:
    """A listing submitted for review puts a ListingSubmitted record on listings.v1 to decode."""
    gateway = Gateway(platform.grpc, load_settings("readme-test"))
    employer = User("emp-readme", "employer", "org-readme")
    try:
        created = await gateway.call(
            "listings",
            "CreateListing",
            listings.CreateListingRequest(
                employer_org_id="org-readme", content=dashboard(datetime.now(UTC))
            ),
            employer,
        )
        await gateway.call(
            "listings",
            "SubmitForReview",
            listings.SubmitForReviewRequest(
                listing_id=created.listing.id, expected_version=created.listing.version
            ),
            employer,
        )
    finally:
        await gateway.close()
    records = await read_topic(
        platform.kafka_bootstrap_servers, LISTINGS, until=lambda found: len(found) >= 1
    )
    saved = tmp_path / "record.binpb"
    saved.write_bytes(records[0].value)
    return saved


def test_every_tested_example_works_as_printed(platform: RunningPlatform, record: Path) -> None:
    for command in readme_commands():
        result = subprocess.run(
            ["bash", "-c", as_run_here(command, platform, record)],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        output = result.stdout
        if "buf convert" in command:
            assert json.loads(output)["data"]["@type"].startswith("type.googleapis.com/stint.")
        elif "protoc" in command:
            assert 'type: "stint.' in output
        elif command.endswith(" list"):
            assert "stint.applications.v1.ApplicationsService" in output
        else:
            json.loads(output)  # grpcurl prints the response as JSON
